#include "cardperso/ads/store/migrations.hpp"

#include <string>

namespace cardperso::ads {

namespace {

// Times are Unix seconds (UTC). Secret columns hold sealed blobs (master_key.hpp), never plaintext.
constexpr const char* kRetailersSessionsAudit = R"sql(
CREATE TABLE ads_meta (
  name  TEXT PRIMARY KEY NOT NULL,
  value BLOB NOT NULL
) STRICT;

CREATE TABLE retailers (
  serial             TEXT PRIMARY KEY NOT NULL
                     CHECK (length(serial) BETWEEN 10 AND 20 AND serial NOT GLOB '*[^0-9]*'),
  status             TEXT NOT NULL CHECK (status IN ('active', 'revoked', 'locked')),
  key_version        INTEGER NOT NULL CHECK (key_version BETWEEN 0 AND 255),
  sealed_keys        BLOB NOT NULL,
  sealed_issuer_code BLOB NOT NULL,
  failed_auth_count  INTEGER NOT NULL DEFAULT 0 CHECK (failed_auth_count >= 0),
  first_failure_at   INTEGER,
  created_at         INTEGER NOT NULL,
  updated_at         INTEGER NOT NULL
) STRICT;

-- No foreign key to retailers: attempts with an unknown serial are recorded too.
CREATE TABLE sessions (
  id              INTEGER PRIMARY KEY,
  retailer_serial TEXT NOT NULL,
  peer            TEXT NOT NULL,
  started_at      INTEGER NOT NULL,
  ended_at        INTEGER,
  outcome         TEXT CHECK (outcome IN ('completed', 'failed', 'aborted')),
  reason          TEXT NOT NULL DEFAULT '',
  CHECK ((ended_at IS NULL) = (outcome IS NULL))
) STRICT;
CREATE INDEX sessions_open ON sessions (id) WHERE ended_at IS NULL;

CREATE TABLE audit_log (
  seq       INTEGER PRIMARY KEY,
  at        INTEGER NOT NULL,
  actor     TEXT NOT NULL,
  event     TEXT NOT NULL,
  subject   TEXT NOT NULL,
  detail    TEXT NOT NULL,
  prev_hash BLOB NOT NULL,
  hash      BLOB NOT NULL
) STRICT;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
)sql";

constexpr Migration kMigrations[] = {
    {"retailers, sessions, audit log", kRetailersSessionsAudit},
    // Next issues: card batches, cards, number pools, subscribers: one line each here.
};

}  // namespace

std::span<const Migration> migrations() { return kMigrations; }

int latest_schema_version() { return static_cast<int>(std::size(kMigrations)); }

Result<int> schema_version(Database& db) {
  auto stmt = db.prepare("PRAGMA user_version", "read schema version");
  if (!stmt) return stmt.error();
  auto row = stmt->step();
  if (!row) return row.error();
  if (!*row) return fail("database error during read schema version: no result");
  return static_cast<int>(stmt->column_int(0));
}

Result<int> migrate(Database& db) {
  auto current = schema_version(db);
  if (!current) return current.error();
  const int latest = latest_schema_version();
  if (*current > latest) {
    return fail("database schema version " + std::to_string(*current) + " is newer than this ads-server (" +
                std::to_string(latest) + "); upgrade the program");
  }
  if (*current < 0) return fail("database schema version " + std::to_string(*current) + " is invalid; restore from backup");
  for (int version = *current + 1; version <= latest; ++version) {
    const Migration& m = kMigrations[version - 1];
    const std::string what = "migrate schema to version " + std::to_string(version) + " (" + m.description + ")";
    auto applied = db.with_transaction([&]() -> Result<void> {
      // Another process may have migrated between our read and our write lock: check again.
      auto now = schema_version(db);
      if (!now) return now.error();
      if (*now >= version) return {};
      if (auto r = db.exec(m.sql, what); !r) return r;
      // PRAGMA takes no bound parameters; the value is our own integer.
      return db.exec("PRAGMA user_version = " + std::to_string(version), what + ": set user_version");
    });
    if (!applied) return applied.error();
  }
  return schema_version(db);
}

Result<Database> open_ads_database(const std::string& path, OpenMode mode) {
  auto db = Database::open(path, mode);
  if (!db) return db.error();
  if (auto migrated = migrate(*db); !migrated) return migrated.error();
  return std::move(db).value();
}

}  // namespace cardperso::ads
