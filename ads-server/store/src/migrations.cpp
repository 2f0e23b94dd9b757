#include "cardperso/ads/store/migrations.hpp"

#include <string>

#include "cardperso/ads/store/schema_dialect.hpp"

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

// Stock of blank cards, number pools, card records, subscribers, assessment decisions.
// Secret columns are sealed blobs (master_key.hpp): batch secrets, CSV master codes, issuer codes,
// Ki, OPc, personal data. A secret batch keeps no per-card code: it is derived when needed.
constexpr const char* kStockNumbersRecords = R"sql(
CREATE TABLE card_batches (
  id              INTEGER PRIMARY KEY,
  name            TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 64),
  kind            TEXT NOT NULL CHECK (kind IN ('secret', 'csv')),
  sealed_secret   BLOB,
  retailer_serial TEXT REFERENCES retailers (serial),
  card_count      INTEGER NOT NULL CHECK (card_count >= 1),
  created_at      INTEGER NOT NULL,
  CHECK ((kind = 'secret') = (sealed_secret IS NOT NULL))
) STRICT;

CREATE TABLE cards (
  iccid              TEXT PRIMARY KEY NOT NULL
                     CHECK (length(iccid) BETWEEN 18 AND 20 AND iccid NOT GLOB '*[^0-9]*'),
  batch_id           INTEGER NOT NULL REFERENCES card_batches (id),
  state              TEXT NOT NULL CHECK (state IN ('blank', 'in_progress', 'personalised', 'failed', 'spoiled')),
  sealed_master_code BLOB,
  sealed_issuer_code BLOB,
  failed_step        TEXT,
  failure_reason     TEXT,
  attempts           INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  updated_at         INTEGER NOT NULL
) STRICT;
CREATE INDEX cards_batch ON cards (batch_id);
CREATE INDEX cards_state ON cards (state);

-- Values are prefix || the number zero-padded to `width` digits, for first <= number <= last;
-- `next` is the lowest number never handed out.
CREATE TABLE number_pools (
  id         INTEGER PRIMARY KEY,
  kind       TEXT NOT NULL CHECK (kind IN ('imsi', 'msisdn')),
  prefix     TEXT NOT NULL CHECK (prefix NOT GLOB '*[^0-9]*'),
  width      INTEGER NOT NULL CHECK (width BETWEEN 1 AND 15),
  first      INTEGER NOT NULL CHECK (first >= 0),
  last       INTEGER NOT NULL,
  next       INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  CHECK (first <= last AND next BETWEEN first AND last + 1)
) STRICT;

-- One row per number ever handed out; the primary key makes a second allocation impossible.
CREATE TABLE number_allocations (
  kind    TEXT NOT NULL CHECK (kind IN ('imsi', 'msisdn')),
  value   TEXT NOT NULL,
  pool_id INTEGER NOT NULL REFERENCES number_pools (id),
  iccid   TEXT REFERENCES cards (iccid),
  state   TEXT NOT NULL CHECK (state IN ('reserved', 'committed', 'released')),
  at      INTEGER NOT NULL,
  PRIMARY KEY (kind, value),
  CHECK ((state = 'released') = (iccid IS NULL))
) STRICT;
CREATE INDEX number_allocations_card ON number_allocations (iccid);
CREATE INDEX number_allocations_free ON number_allocations (kind, value) WHERE state = 'released';

CREATE TABLE subscribers (
  id                    INTEGER PRIMARY KEY,
  sealed_personal_data  BLOB NOT NULL,
  created_at            INTEGER NOT NULL
) STRICT;

CREATE TABLE decisions (
  id              INTEGER PRIMARY KEY,
  retailer_serial TEXT NOT NULL,
  session_id      INTEGER,
  go              INTEGER NOT NULL CHECK (go IN (0, 1)),
  reasons         TEXT NOT NULL,
  at              INTEGER NOT NULL
) STRICT;

CREATE TABLE card_records (
  iccid           TEXT NOT NULL REFERENCES cards (iccid),
  version         INTEGER NOT NULL CHECK (version >= 1),
  imsi            TEXT NOT NULL,
  msisdn          TEXT NOT NULL,
  sealed_ki       BLOB NOT NULL,
  sealed_opc      BLOB NOT NULL,
  spn             TEXT NOT NULL,
  plmnsel         TEXT NOT NULL,
  profile         TEXT NOT NULL,
  files           TEXT NOT NULL,
  retailer_serial TEXT NOT NULL,
  subscriber_id   INTEGER NOT NULL REFERENCES subscribers (id),
  session_id      INTEGER,
  decision_id     INTEGER REFERENCES decisions (id),
  created_at      INTEGER NOT NULL,
  PRIMARY KEY (iccid, version)
) STRICT;
-- A record version is history: it is never changed or removed.
CREATE TRIGGER card_records_no_update BEFORE UPDATE ON card_records
BEGIN SELECT RAISE(ABORT, 'card_records are append-only'); END;
CREATE TRIGGER card_records_no_delete BEFORE DELETE ON card_records
BEGIN SELECT RAISE(ABORT, 'card_records are append-only'); END;
)sql";

// Interrupted personalisations are recoverable (docs/personalisation.md §5):
// - cards.sealed_pending_code: the issuer code a NewCard script writes, chosen once, before the first
//   script leaves, and reused by every retry (sealed like sealed_issuer_code, under the same label);
// - cards.code_on_card: what the ADS knows of the ADM1 code a failed card holds: its master code, the
//   pending code, or either ('unknown': the retry presents both, the likelier first);
// - number state 'retired': the number may be on a spoiled card; it is never handed out again.
//   SQLite cannot change a CHECK in place, so number_allocations is rebuilt.
// A failed card that took its issuer code under the old rules has it in sealed_issuer_code: it moves.
constexpr const char* kRecoverableRetries = R"sql(
ALTER TABLE cards ADD COLUMN sealed_pending_code BLOB;
ALTER TABLE cards ADD COLUMN code_on_card TEXT NOT NULL DEFAULT 'master'
  CHECK (code_on_card IN ('master', 'pending', 'unknown', 'unknown_pending_first'));
UPDATE cards SET sealed_pending_code = sealed_issuer_code, sealed_issuer_code = NULL, code_on_card = 'pending'
  WHERE state = 'failed' AND sealed_issuer_code IS NOT NULL;

CREATE TABLE number_allocations_v3 (
  kind    TEXT NOT NULL CHECK (kind IN ('imsi', 'msisdn')),
  value   TEXT NOT NULL,
  pool_id INTEGER NOT NULL REFERENCES number_pools (id),
  iccid   TEXT REFERENCES cards (iccid),
  state   TEXT NOT NULL CHECK (state IN ('reserved', 'committed', 'released', 'retired')),
  at      INTEGER NOT NULL,
  PRIMARY KEY (kind, value),
  CHECK ((state = 'released') = (iccid IS NULL))
) STRICT;
INSERT INTO number_allocations_v3 (kind, value, pool_id, iccid, state, at)
  SELECT kind, value, pool_id, iccid, state, at FROM number_allocations;
DROP TABLE number_allocations;
ALTER TABLE number_allocations_v3 RENAME TO number_allocations;
CREATE INDEX number_allocations_card ON number_allocations (iccid);
CREATE INDEX number_allocations_free ON number_allocations (kind, value) WHERE state = 'released';
)sql";

// The terminals a retailer card may be used with (proto/PROTOCOL.md §6.6): a device key may be
// enrolled for several cards of the same shop; a revoked enrolment is never re-activated.
constexpr const char* kTerminals = R"sql(
CREATE TABLE terminals (
  public_key      BLOB NOT NULL CHECK (length(public_key) = 32),
  retailer_serial TEXT NOT NULL REFERENCES retailers (serial),
  label           TEXT NOT NULL DEFAULT '' CHECK (length(label) <= 64),
  status          TEXT NOT NULL CHECK (status IN ('active', 'revoked')),
  enrolled_at     INTEGER NOT NULL,
  revoked_at      INTEGER,
  PRIMARY KEY (public_key, retailer_serial),
  CHECK ((status = 'revoked') = (revoked_at IS NOT NULL))
) STRICT;
CREATE INDEX terminals_by_retailer ON terminals (retailer_serial);
)sql";

// A lock after repeated failed authentications expires by itself: locked_until, doubling with each
// lockout in a row (lockouts) up to a cap. A lock made before this version ends 15 minutes after it
// was set.
constexpr const char* kExpiringLocks = R"sql(
ALTER TABLE retailers ADD COLUMN locked_until INTEGER;
ALTER TABLE retailers ADD COLUMN lockouts INTEGER NOT NULL DEFAULT 0 CHECK (lockouts >= 0);
UPDATE retailers SET locked_until = updated_at + 900, lockouts = 1 WHERE status = 'locked';
)sql";

// A card's failures that count (a terminal's report that the script reached the card, or a refused
// code) apart from its attempts (every script that left): only the former spoil a card. A card that
// failed before this version is taken to have failed as often as it tried.
constexpr const char* kCountedFailures = R"sql(
ALTER TABLE cards ADD COLUMN failures INTEGER NOT NULL DEFAULT 0 CHECK (failures >= 0);
UPDATE cards SET failures = attempts WHERE state IN ('failed', 'spoiled');
)sql";

// The HLR provisioning outbox (docs/operations.md, "Connecting the ADS to the HLR"): a job is written in
// the transaction that commits a card's record (or retires the card), so a record never exists without
// the job that brings it to the HLR. Jobs hold no secret: a provision job names the record version, whose
// sealed Ki/OPc are read when it is delivered. Delivered jobs stay as the delivery history.
// A retired card (lost, stolen, returned; `adsctl card retire`) is spoiled like a card whose
// personalisation failed for good; retired_at/retire_reason say it was taken out of service.
constexpr const char* kHlrOutbox = R"sql(
CREATE TABLE hlr_jobs (
  id              INTEGER PRIMARY KEY,
  iccid           TEXT NOT NULL REFERENCES cards (iccid),
  action          TEXT NOT NULL CHECK (action IN ('provision', 'remove')),
  record_version  INTEGER,
  imsi            TEXT NOT NULL CHECK (length(imsi) BETWEEN 6 AND 15 AND imsi NOT GLOB '*[^0-9]*'),
  created_at      INTEGER NOT NULL,
  attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  next_attempt_at INTEGER NOT NULL,
  last_error      TEXT NOT NULL DEFAULT '',
  delivered_at    INTEGER,
  CHECK ((action = 'provision') = (record_version IS NOT NULL))
) STRICT;
CREATE INDEX hlr_jobs_pending ON hlr_jobs (id) WHERE delivered_at IS NULL;
CREATE INDEX hlr_jobs_card ON hlr_jobs (iccid);
CREATE TRIGGER hlr_jobs_no_delete BEFORE DELETE ON hlr_jobs
BEGIN SELECT RAISE(ABORT, 'hlr_jobs are kept as the delivery history'); END;

ALTER TABLE cards ADD COLUMN retired_at INTEGER;
ALTER TABLE cards ADD COLUMN retire_reason TEXT;
)sql";

// Several ADS daemons on one PostgreSQL database (Database::instance): the daemon a card's script runs
// on and the daemon a session runs on, so that a daemon recovers only the work of daemons that are
// gone. Rows from before this version name none: their daemon counts as gone.
constexpr const char* kDaemonOwners = R"sql(
ALTER TABLE cards ADD COLUMN in_progress_by INTEGER;
ALTER TABLE sessions ADD COLUMN daemon INTEGER;
)sql";

constexpr Migration kMigrations[] = {
    {"retailers, sessions, audit log", kRetailersSessionsAudit},
    {"card stock, number pools, card records, subscribers, decisions", kStockNumbersRecords},
    {"recoverable retries: pending issuer code, code on card, retired numbers", kRecoverableRetries},
    {"terminals: device keys enrolled per retailer card", kTerminals},
    {"retailer locks that expire: locked_until, lockouts", kExpiringLocks},
    {"cards: failures that count, apart from attempts", kCountedFailures},
    {"HLR provisioning outbox; retired cards", kHlrOutbox},
    {"several daemons: the daemon of a card in progress and of a session", kDaemonOwners},
    // Further tables: one more line here; released entries are never edited.
};

}  // namespace

std::span<const Migration> migrations() { return kMigrations; }

int latest_schema_version() { return static_cast<int>(std::size(kMigrations)); }

namespace {

// SQLite keeps the version in the file header (user_version); PostgreSQL in a one-row table.
Result<void> set_schema_version(Database& db, int version, const std::string& what) {
  // Neither form takes bound parameters here; the value is our own integer.
  if (db.backend() == Backend::Sqlite) {
    return db.exec("PRAGMA user_version = " + std::to_string(version), what + ": set user_version");
  }
  return db.exec("CREATE TABLE IF NOT EXISTS ads_schema_version (version BIGINT NOT NULL); "
                 "DELETE FROM ads_schema_version; INSERT INTO ads_schema_version (version) VALUES (" +
                     std::to_string(version) + ")",
                 what + ": set the schema version");
}

}  // namespace

Result<int> schema_version(Database& db) {
  if (db.backend() == Backend::Postgres) {
    // A database that `adsctl init` has not touched yet has no version table: version 0.
    auto exists = db.read_row("SELECT to_regclass('ads_schema_version') IS NOT NULL", "read schema version",
                              [](const Statement& s) { return s.column_int(0) != 0; });
    if (!exists) return exists.error();
    if (!exists->value_or(false)) return 0;
  }
  const char* sql = db.backend() == Backend::Sqlite ? "PRAGMA user_version"
                                                    : "SELECT coalesce(max(version), 0) FROM ads_schema_version";
  auto version = db.read_row(sql, "read schema version",
                             [](const Statement& s) { return static_cast<int>(s.column_int(0)); });
  if (!version) return version.error();
  if (!*version) return fail("database error during read schema version: no result");
  return **version;
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
      const std::string sql = db.backend() == Backend::Sqlite ? std::string(m.sql) : schema_for_postgres(m.sql);
      if (auto r = db.exec(sql, what); !r) return r;
      return set_schema_version(db, version, what);
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
