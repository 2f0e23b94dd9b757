#include "cardperso/ads/store/sqlite_db.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>
#include <stdexcept>

#include "cardperso/ads/store/private_file.hpp"
#include "cardperso/common/url_credentials.hpp"
#include "postgres_connection.hpp"

namespace cardperso::ads {

namespace detail {
struct CachedStatement {
  sqlite3_stmt* stmt = nullptr;
  bool in_use = false;    // a Statement holds it; a second prepare of the same text gets a fresh one
  bool orphaned = false;  // its Database closed while a Statement held it: that Statement finalizes it
};
}  // namespace detail

namespace {

constexpr int kBusyTimeoutMs = 5000;
// Every SQL text in the code base is a constant, so the cache stays small; the bound only keeps a
// future caller that builds SQL text at run time from growing it without end.
constexpr std::size_t kMaxCachedStatements = 512;

std::string advice_for(int rc) {
  switch (rc & 0xFF) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return "; another process holds the database: try again, or stop it";
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return "; the file is damaged or is not an ads-server database: restore it from backup";
    case SQLITE_FULL:
      return "; the disk is full: free space and try again";
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_CANTOPEN:
      return "; check that the file and its directory are writable by this user";
    case SQLITE_IOERR:
      return "; the disk reported an I/O error: check the storage";
    default:
      return {};
  }
}

}  // namespace

Error sqlite_error(sqlite3* db, int rc, std::string_view what) {
  std::string message = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  return fail("database error during " + std::string(what) + ": " + message + " (" + sqlite3_errstr(rc) + ")" +
              advice_for(rc));
}

// ---- Statement ----

Statement::Statement(sqlite3* db, sqlite3_stmt* stmt, std::string what, std::shared_ptr<detail::CachedStatement> cached)
    : db_(db), stmt_(stmt), cached_(std::move(cached)), what_(std::move(what)) {}

Statement::Statement(std::unique_ptr<detail::PgQuery> pg, std::string what) : what_(std::move(what)), pg_(std::move(pg)) {}

Statement::Statement(Statement&& other) noexcept
    : db_(other.db_),
      stmt_(other.stmt_),
      cached_(std::move(other.cached_)),
      what_(std::move(other.what_)),
      bind_error_(std::move(other.bind_error_)),
      pg_(std::move(other.pg_)) {
  other.stmt_ = nullptr;
}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    release();
    db_ = other.db_;
    stmt_ = other.stmt_;
    cached_ = std::move(other.cached_);
    what_ = std::move(other.what_);
    bind_error_ = std::move(other.bind_error_);
    pg_ = std::move(other.pg_);
    other.stmt_ = nullptr;
  }
  return *this;
}

Statement::~Statement() { release(); }

void Statement::release() noexcept {
  pg_.reset();
  if (stmt_ == nullptr) return;
  if (cached_ && !cached_->orphaned) {
    // Reset also ends a read in progress, so a cached statement never pins a WAL snapshot.
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    cached_->in_use = false;
  } else {
    sqlite3_finalize(stmt_);
  }
  cached_.reset();
  stmt_ = nullptr;
}

void Statement::note_bind(int rc, int index) {
  if (rc != SQLITE_OK && !bind_error_) {
    bind_error_ = sqlite_error(db_, rc, what_ + " (binding parameter " + std::to_string(index) + ")");
  }
}

Statement& Statement::bind(int index, std::int64_t value) {
  if (pg_) {
    pg_->bind(index, value);
    return *this;
  }
  note_bind(sqlite3_bind_int64(stmt_, index, value), index);
  return *this;
}

Statement& Statement::bind(int index, std::string_view text) {
  if (pg_) {
    pg_->bind(index, text);
    return *this;
  }
  note_bind(sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8), index);
  return *this;
}

Statement& Statement::bind(int index, ByteView blob) {
  if (pg_) {
    pg_->bind(index, blob);
    return *this;
  }
  // A zero-length blob with a null pointer would bind NULL; bind an explicit empty blob instead.
  if (blob.empty()) {
    note_bind(sqlite3_bind_zeroblob(stmt_, index, 0), index);
  } else {
    note_bind(sqlite3_bind_blob64(stmt_, index, blob.data(), blob.size(), SQLITE_TRANSIENT), index);
  }
  return *this;
}

Statement& Statement::bind_null(int index) {
  if (pg_) {
    pg_->bind_null(index);
    return *this;
  }
  note_bind(sqlite3_bind_null(stmt_, index), index);
  return *this;
}

Result<bool> Statement::step() {
  if (pg_) return pg_->step(what_);
  if (bind_error_) return *bind_error_;
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return sqlite_error(db_, rc, what_);
}

Result<void> Statement::run() {
  for (;;) {
    auto row = step();
    if (!row) return row.error();
    if (!*row) return {};
  }
}

bool Statement::column_is_null(int index) const {
  if (pg_) return pg_->is_null(index);
  return sqlite3_column_type(stmt_, index) == SQLITE_NULL;
}

std::int64_t Statement::column_int(int index) const {
  if (pg_) return pg_->integer(index);
  return sqlite3_column_int64(stmt_, index);
}

std::optional<std::int64_t> Statement::column_optional_int(int index) const {
  if (column_is_null(index)) return std::nullopt;
  return column_int(index);
}

std::optional<std::string> Statement::column_optional_text(int index) const {
  if (column_is_null(index)) return std::nullopt;
  return column_text(index);
}

std::string Statement::column_text(int index) const {
  if (pg_) return pg_->text(index);
  const auto* text = sqlite3_column_text(stmt_, index);
  if (text == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(text), static_cast<std::size_t>(sqlite3_column_bytes(stmt_, index)));
}

Bytes Statement::column_blob(int index) const {
  if (pg_) return pg_->blob(index);
  const auto* data = static_cast<const std::uint8_t*>(sqlite3_column_blob(stmt_, index));
  const auto size = static_cast<std::size_t>(sqlite3_column_bytes(stmt_, index));
  if (data == nullptr) return {};
  return Bytes(data, data + size);
}

// ---- Database ----

namespace {

Result<void> single_pragma(sqlite3* db, const char* sql, std::string_view expected, std::string_view what) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr);
  if (rc != SQLITE_OK) return sqlite_error(db, rc, what);
  rc = sqlite3_step(stmt);
  std::string got;
  if (rc == SQLITE_ROW) {
    const auto* text = sqlite3_column_text(stmt, 0);
    if (text != nullptr) got = reinterpret_cast<const char*>(text);
    rc = sqlite3_step(stmt);
  }
  sqlite3_finalize(stmt);
  if (rc != SQLITE_DONE) return sqlite_error(db, rc, what);
  if (!expected.empty() && got != expected) {
    return fail("database error during " + std::string(what) + ": got '" + got + "', expected '" +
                std::string(expected) + "'");
  }
  return {};
}

}  // namespace

bool Database::is_postgres_url(std::string_view location) {
  return location.rfind("postgresql://", 0) == 0 || location.rfind("postgres://", 0) == 0;
}

Database::Database(sqlite3* db, std::string path)
    : db_(db), path_(std::move(path)), cache_(std::make_unique<Cache>()) {}

Database::Database(std::unique_ptr<detail::PgConnection> pg, std::string shown)
    : path_(std::move(shown)), cache_(std::make_unique<Cache>()), pg_(std::move(pg)) {}

Result<Database> Database::open_postgres(const std::string& url, OpenMode mode) {
  const std::string shown = redact_url_credentials(url);
  auto conn = detail::PgConnection::connect(url, shown);
  if (!conn) return conn.error();
  Database db(std::move(conn).value(), shown);
  auto has_tables = db.read_row("SELECT to_regclass('ads_meta') IS NOT NULL", "open database " + shown,
                                [](const Statement& s) { return s.column_int(0) != 0; });
  if (!has_tables) return has_tables.error();
  const bool initialised = has_tables->value_or(false);
  if (mode == OpenMode::CreateNew && initialised) {
    return fail("database " + shown + " already holds an ADS; refusing to overwrite it");
  }
  if (mode == OpenMode::MustExist && !initialised) {
    return fail("database " + shown + " holds no ADS yet; create it with `adsctl init --db URL`");
  }
  // Below 2^62: apart from the writer lock's key, and positive however pg_locks splits it.
  std::random_device entropy;
  std::uniform_int_distribution<std::int64_t> pick(1, (std::int64_t{1} << 62) - 1);
  db.instance_ = pick(entropy);
  if (auto held = db.pg_->take_session_lock(db.instance_, "open database " + shown + ": take this daemon's identity");
      !held)
    return held.error();
  return db;
}

Result<Database> Database::open(const std::string& location, OpenMode mode) {
  if (is_postgres_url(location)) return open_postgres(location, mode);
  const std::string path = location.rfind("sqlite:", 0) == 0 ? location.substr(7) : location;
  if (path.empty()) return fail("--db sqlite: needs a file path after 'sqlite:'");
  if (mode == OpenMode::CreateNew) {
    // Owner-only: it holds sealed keys and personal data. SQLite gives its -wal and -shm the same mode.
    if (auto created = create_private_file(path, "database " + path + " already exists; refusing to overwrite it");
        !created)
      return created.error();
  } else {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
      return fail("database " + path + " not found; create it with `adsctl init` or pass --db");
    }
  }
  sqlite3* raw = nullptr;
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_FULLMUTEX;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  Database db(raw, path);  // owns the handle even when opening failed
  if (rc != SQLITE_OK) return sqlite_error(raw, rc, "open database " + path);
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, kBusyTimeoutMs);
  // The first read of the file: a non-database file fails here with SQLITE_NOTADB.
  if (auto r = single_pragma(raw, "PRAGMA journal_mode=WAL", "wal", "open database " + path + ": set WAL mode"); !r)
    return r.error();
  if (auto r = db.exec("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA trusted_schema=OFF;",
                       "open database " + path + ": set pragmas");
      !r)
    return r.error();
  if (auto r = single_pragma(raw, "PRAGMA foreign_keys", "1", "open database " + path + ": check foreign keys"); !r)
    return r.error();
  return db;
}

Database::Database(Database&& other) noexcept
    : db_(other.db_),
      path_(std::move(other.path_)),
      cache_(std::move(other.cache_)),
      group_(other.group_),
      group_open_(other.group_open_),
      in_savepoint_(other.in_savepoint_),
      release_pending_(other.release_pending_),
      audit_drafts_(std::move(other.audit_drafts_)),
      audit_drafts_at_call_(other.audit_drafts_at_call_),
      pg_(std::move(other.pg_)),
      apart_(std::move(other.apart_)),
      apart_connection_(other.apart_connection_),
      instance_(other.instance_) {
  other.db_ = nullptr;
  other.group_ = nullptr;
  other.group_open_ = false;
}

Database& Database::operator=(Database&& other) noexcept {
  if (this != &other) {
    close();
    db_ = other.db_;
    path_ = std::move(other.path_);
    cache_ = std::move(other.cache_);
    group_ = other.group_;
    group_open_ = other.group_open_;
    in_savepoint_ = other.in_savepoint_;
    release_pending_ = other.release_pending_;
    audit_drafts_ = std::move(other.audit_drafts_);
    audit_drafts_at_call_ = other.audit_drafts_at_call_;
    pg_ = std::move(other.pg_);
    apart_ = std::move(other.apart_);
    apart_connection_ = other.apart_connection_;
    instance_ = other.instance_;
    other.db_ = nullptr;
    other.group_ = nullptr;
    other.group_open_ = false;
  }
  return *this;
}

Database::~Database() { close(); }

void Database::close() noexcept {
  apart_.reset();
  pg_.reset();
  if (cache_) {
    for (auto& [sql, cached] : *cache_) {
      if (cached->in_use)
        cached->orphaned = true;  // sqlite3_close_v2 keeps the connection until that Statement finalizes it
      else
        sqlite3_finalize(cached->stmt);
    }
    cache_->clear();
  }
  sqlite3_close_v2(db_);
  db_ = nullptr;
}

Result<Statement> Database::prepare(std::string_view sql, std::string_view what) {
  if (pg_) return Statement(std::make_unique<detail::PgQuery>(*pg_, pg_->translate(sql)), std::string(what));
  std::shared_ptr<detail::CachedStatement>* slot = nullptr;
  if (auto it = cache_->find(sql); it != cache_->end()) {
    if (!it->second->in_use) {
      it->second->in_use = true;
      return Statement(db_, it->second->stmt, std::string(what), it->second);
    }
    // The same text is in use further up the stack: that one keeps the cache entry.
  } else if (cache_->size() < kMaxCachedStatements) {
    slot = &(*cache_)[std::string(sql)];
  }
  sqlite3_stmt* stmt = nullptr;
  const unsigned flags = slot != nullptr ? SQLITE_PREPARE_PERSISTENT : 0;
  const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), flags, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    if (slot != nullptr) cache_->erase(cache_->find(sql));
    return sqlite_error(db_, rc, std::string(what) + " (prepare)");
  }
  if (slot == nullptr) return Statement(db_, stmt, std::string(what));
  *slot = std::make_shared<detail::CachedStatement>(detail::CachedStatement{stmt, true, false});
  return Statement(db_, stmt, std::string(what), *slot);
}

Result<void> Database::run_cached(std::string_view sql, std::string_view what) {
  auto stmt = prepare(sql, what);
  if (!stmt) return stmt.error();
  return stmt->run();
}

Result<void> Database::exec(std::string_view sql, std::string_view what) {
  if (pg_) return pg_->exec(sql, what);
  const std::string text(sql);
  const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return sqlite_error(db_, rc, what);
  return {};
}

bool Database::in_transaction() const {
  if (pg_) return pg_->in_transaction();
  return sqlite3_get_autocommit(db_) == 0;
}

int Database::changes() const {
  if (pg_) return pg_->changes();
  return sqlite3_changes(db_);
}

std::string Database::owner_gone_sql(std::string_view column) const {
  if (!pg_) return "1";
  // A bigint advisory lock shows in pg_locks as classid (high 32 bits) and objid (low), objsubid 1.
  const std::string c(column);
  return "(" + c + " IS NULL OR NOT EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted "
         "AND l.objsubid = 1 AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
         "AND ((l.classid::bigint << 32) | l.objid::bigint) = " + c + "))";
}

Result<bool> Database::hold_role(std::string_view role) {
  if (!pg_) return true;
  // The role's key: 62 bits of a fixed hash of its name, the same in every daemon. It shares the key
  // space with the random instance keys; a collision has a chance of 2^-62.
  std::uint64_t h = 1469598103934665603ULL;  // FNV-1a
  for (const char ch : std::string("cardperso/role/") + std::string(role)) {
    h ^= static_cast<unsigned char>(ch);
    h *= 1099511628211ULL;
  }
  const auto key = static_cast<std::int64_t>(h & ((std::uint64_t{1} << 62) - 1));
  return pg_->try_take_session_lock(key, "take the role " + std::string(role));
}

bool Database::retry_after_failure(int attempt) {
  return pg_ && pg_->take_retryable() && attempt < kMaxTransactionAttempts;
}

namespace {
// The writer lock of an ADS database on PostgreSQL (postgres_connection.hpp): one transaction-scoped
// advisory lock, the same number in every daemon. The value spells "cardpers" in ASCII.
constexpr const char* kBeginWrite = "BEGIN; SELECT pg_advisory_xact_lock(7161130658203791987)";
// A group's first call: BEGIN, the writer lock and the call's savepoint in one round trip.
constexpr const char* kBeginWriteGroup =
    "BEGIN; SELECT pg_advisory_xact_lock_shared(7161130658203791987); SAVEPOINT ads_call";
}  // namespace

Result<void> Database::begin_immediate() {
  audit_drafts_.clear();
  if (in_transaction()) throw std::logic_error("Database::with_transaction called inside a transaction");
  // IMMEDIATE takes the write lock now, so a read-then-write inside fn cannot fail half-way with BUSY.
  if (pg_) return pg_->begin(apart_connection_ ? "BEGIN" : kBeginWrite);
  return run_cached("BEGIN IMMEDIATE", "begin transaction");
}

const char* Database::row_lock_sql() const {
  return pg_ && pg_->in_transaction() ? " FOR NO KEY UPDATE" : "";
}

Result<void> Database::run_apart(const std::function<Result<void>(Database&)>& fn) {
  if (!pg_) return fn(*this);
  if (!apart_) {
    auto second = detail::PgConnection::connect_like(*pg_);
    if (!second) return second.error();
    apart_.reset(new Database(std::move(second).value(), path_));
    apart_->apart_connection_ = true;
  }
  return apart_->with_transaction([&] { return fn(*apart_); });
}

Result<void> Database::commit() {
  if (!audit_drafts_.empty()) {
    auto written = write_audit_drafts();
    audit_drafts_.clear();
    if (!written) return written;
  }
  if (pg_) return pg_->commit();
  return run_cached("COMMIT", "commit transaction");
}

void Database::rollback() noexcept {
  release_pending_ = false;
  audit_drafts_.clear();
  if (pg_) {
    pg_->rollback();
    return;
  }
  if (in_transaction()) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
}

void Database::set_group(TransactionGroupListener* listener) {
  if (group_open_) throw std::logic_error("Database::set_group called while a group transaction is open");
  group_ = listener;
}

Result<void> Database::begin_savepoint() {
  if (in_savepoint_) throw std::logic_error("Database::with_transaction called inside a transaction");
  if (!group_open_) {
    if (in_transaction()) throw std::logic_error("Database::with_transaction (group mode) inside a foreign transaction");
    audit_drafts_.clear();
    if (pg_) {
      if (auto begun = pg_->begin(kBeginWriteGroup); !begun) return begun;
      group_open_ = true;
      release_pending_ = false;
      group_->on_group_opened();
      in_savepoint_ = true;
      audit_drafts_at_call_ = audit_drafts_.size();
      return {};
    }
    if (auto begun = run_cached("BEGIN IMMEDIATE", "begin group transaction"); !begun) return begun;
    group_open_ = true;
    group_->on_group_opened();
  } else if (!in_transaction()) {
    return fail("database error: the shared transaction was rolled back after an earlier error, so this operation "
                "was not done; retry it");
  }
  if (pg_) {
    // A failed statement outside any call (the transaction is aborted): a deferred RELEASE would fail
    // and a later ROLLBACK TO would then undo the previous call, which already reported success.
    if (pg_->in_failed_transaction()) {
      return fail("database error: a statement of the shared transaction failed, so this operation was not "
                  "done; retry it");
    }
    // Sent with the call's first statement: no round trip of its own.
    if (release_pending_) pg_->defer("RELEASE ads_call");
    pg_->defer("SAVEPOINT ads_call");
    release_pending_ = false;
    in_savepoint_ = true;
    audit_drafts_at_call_ = audit_drafts_.size();
    return {};
  }
  if (auto saved = run_cached("SAVEPOINT ads_call", "begin transaction (savepoint)"); !saved) return saved;
  in_savepoint_ = true;
  audit_drafts_at_call_ = audit_drafts_.size();
  return {};
}

Result<void> Database::release_savepoint() {
  if (pg_ && !pg_->in_failed_transaction()) {
    // Nothing can make RELEASE of a live savepoint fail but an aborted transaction, checked here
    // without a round trip; the RELEASE itself goes out with the next SAVEPOINT or as part of COMMIT.
    release_pending_ = true;
    in_savepoint_ = false;
    return {};
  }
  auto released = pg_ ? pg_->exec("RELEASE ads_call", "end transaction (release savepoint)")
                      : run_cached("RELEASE ads_call", "end transaction (release savepoint)");
  if (released) in_savepoint_ = false;
  return released;
}

void Database::rollback_savepoint() noexcept {
  if (audit_drafts_.size() > audit_drafts_at_call_) audit_drafts_.resize(audit_drafts_at_call_);
  in_savepoint_ = false;
  // After some errors (disk full, I/O error) SQLite has already rolled the whole transaction back;
  // commit_group() reports that to everyone waiting on the group.
  if (!in_transaction()) return;
  if (pg_) {
    (void)pg_->exec("ROLLBACK TO ads_call; RELEASE ads_call", "undo a call (rollback to savepoint)");
    return;
  }
  sqlite3_exec(db_, "ROLLBACK TO ads_call; RELEASE ads_call", nullptr, nullptr, nullptr);
}

Result<void> Database::commit_group() {
  if (!group_open_) return {};
  if (in_savepoint_) throw std::logic_error("Database::commit_group called inside with_transaction");
  group_open_ = false;
  release_pending_ = false;  // COMMIT releases every savepoint
  if (!in_transaction()) {
    return fail("database error: SQLite rolled the shared transaction back after an error, so the writes of this "
                "group were lost; check the disk (space, I/O errors)");
  }
  if (auto committed = commit(); !committed) {
    rollback();
    return fail(committed.error().message + "; the writes of this group were rolled back");
  }
  return {};
}

}  // namespace cardperso::ads
