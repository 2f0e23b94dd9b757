#pragma once
// One connection to the issuer's records, SQLite (a file, the default) or PostgreSQL (a
// postgresql:// URL, for several daemons on one database; postgres_connection.hpp says how writers
// are ordered there). The store's SQL is written once with ?N parameters; on PostgreSQL they become
// $N. Schema scripts are translated once (schema_dialect.hpp).
//
// SQLite: one connection set up for an issuer's records: WAL, synchronous=FULL (a commit that
// returned is on disk), foreign keys enforced, a busy timeout. Data only ever enters SQL through bound
// parameters. Every SQLite error becomes a Result error naming the operation that failed.
//
// prepare() keeps one persistent prepared statement per SQL text and hands it out again once the
// previous Statement for that text is gone (the parser was most of a session's SQLite CPU).
//
// Group mode (set_group): with_transaction no longer commits on its own. The first call of a cycle
// opens one shared transaction (BEGIN IMMEDIATE) and tells the listener, which commits the group
// later with commit_group() (one flush for every writer of the cycle). Each call runs inside its own
// SAVEPOINT, so a call that fails undoes only its own writes. GroupCommit also switches the
// connection to synchronous=NORMAL while in group mode and flushes the WAL itself, off the io thread.
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>
#include <type_traits>
#include <string_view>
#include <unordered_map>

#include "cardperso/common/bytes.hpp"
#include "cardperso/common/result.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace cardperso::ads {

namespace detail {
struct CachedStatement;  // one persistent sqlite3_stmt of the cache and whether a Statement holds it
class PgConnection;
class PgQuery;
}  // namespace detail

enum class Backend { Sqlite, Postgres };

// How many times a transaction is run in all when the database reports a conflict with another
// daemon's (serialization failure, deadlock, lock timeout). Only PostgreSQL reports them.
inline constexpr int kMaxTransactionAttempts = 5;

class Statement {
 public:
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  // Parameters are numbered from 1. A failed bind is remembered and reported by the next step().
  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, std::string_view text);
  Statement& bind(int index, ByteView blob);
  Statement& bind_null(int index);
  // Exact-type overloads, so that a std::string or Bytes argument picks one of the above unambiguously.
  Statement& bind(int index, const std::string& text) { return bind(index, std::string_view(text)); }
  Statement& bind(int index, const char* text) { return bind(index, std::string_view(text)); }
  Statement& bind(int index, const Bytes& blob) { return bind(index, ByteView(blob)); }
  // An empty optional binds NULL. A template, so that only a std::optional argument matches it.
  template <class T>
  Statement& bind(int index, const std::optional<T>& value) {
    return value ? bind(index, *value) : bind_null(index);
  }
  // Binds the arguments to ?1, ?2, ... in order.
  template <class... Args>
  Statement& bind_all(const Args&... args) {
    int index = 0;
    (bind(++index, args), ...);
    return *this;
  }

  // One step: true when a row is ready, false when the statement is done.
  Result<bool> step();
  // Steps to the end, for statements that return no rows.
  Result<void> run();
  // Steps to the end and makes one value of every row with read(statement).
  template <class Read>
  auto collect(Read read) -> Result<std::vector<std::invoke_result_t<Read&, const Statement&>>> {
    std::vector<std::invoke_result_t<Read&, const Statement&>> rows;
    for (;;) {
      auto row = step();
      if (!row) return row.error();
      if (!*row) return rows;
      rows.push_back(read(static_cast<const Statement&>(*this)));
    }
  }

  bool column_is_null(int index) const;
  std::int64_t column_int(int index) const;
  std::optional<std::int64_t> column_optional_int(int index) const;
  std::string column_text(int index) const;
  std::optional<std::string> column_optional_text(int index) const;
  Bytes column_blob(int index) const;

 private:
  friend class Database;
  Statement(sqlite3* db, sqlite3_stmt* stmt, std::string what, std::shared_ptr<detail::CachedStatement> cached = {});
  Statement(std::unique_ptr<detail::PgQuery> pg, std::string what);
  void note_bind(int rc, int index);
  void release() noexcept;  // finalize, or reset and give back to the cache

  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
  std::shared_ptr<detail::CachedStatement> cached_;
  std::string what_;
  std::optional<Error> bind_error_;
  std::unique_ptr<detail::PgQuery> pg_;
};

// Told when a group transaction opens, so it can arrange the commit (GroupCommit posts it).
class TransactionGroupListener {
 public:
  virtual void on_group_opened() = 0;

 protected:
  ~TransactionGroupListener() = default;
};

enum class OpenMode {
  CreateNew,  // the file must not exist; it is created with mode 0600 (it holds sealed keys)
  MustExist,  // the file must exist (created earlier by `adsctl init`)
};

class Database {
 public:
  // `location`: a SQLite file path (optionally written sqlite:PATH) or a postgresql:// (postgres://)
  // URL. On PostgreSQL the database itself must exist (the operator creates it); CreateNew requires
  // that it holds no ADS tables yet, MustExist that it does.
  static Result<Database> open(const std::string& location, OpenMode mode);
  static bool is_postgres_url(std::string_view location);

  Database(Database&& other) noexcept;
  Database& operator=(Database&& other) noexcept;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  ~Database();

  // `what` names the operation in error messages, e.g. "enrol retailer: insert".
  Result<Statement> prepare(std::string_view sql, std::string_view what);
  // Runs constant SQL (schema scripts, pragmas); never data.
  Result<void> exec(std::string_view sql, std::string_view what);

  // The common shapes of one statement, all through prepare() (so through its cache), with `binds`
  // bound to ?1, ?2, ... in order:
  // - run: a statement without rows (INSERT, UPDATE), stepped to the end;
  // - update: the same, and how many rows it changed (changes());
  // - first_row: the statement with its first row ready, or nothing when the query has no row;
  // - read_row: read(statement) of the first row, or nothing when there is none;
  // - read_rows: read(statement) of every row.
  template <class... Args>
  Result<void> run(std::string_view sql, std::string_view what, const Args&... binds);
  template <class... Args>
  Result<int> update(std::string_view sql, std::string_view what, const Args&... binds);
  template <class... Args>
  Result<std::optional<Statement>> first_row(std::string_view sql, std::string_view what, const Args&... binds);
  template <class Read, class... Args>
  auto read_row(std::string_view sql, std::string_view what, Read read, const Args&... binds)
      -> Result<std::optional<std::invoke_result_t<Read&, const Statement&>>>;
  // - insert_id: an INSERT ... RETURNING id, run to its end; the new row's id (both backends).
  template <class... Args>
  Result<std::int64_t> insert_id(std::string_view sql, std::string_view what, const Args&... binds);
  template <class Read, class... Args>
  auto read_rows(std::string_view sql, std::string_view what, Read read, const Args&... binds)
      -> Result<std::vector<std::invoke_result_t<Read&, const Statement&>>>;

  // BEGIN IMMEDIATE; fn(); COMMIT when fn returned success, ROLLBACK when it returned an error or
  // threw. Transactions do not nest: calling this inside one is a programmer error.
  // In group mode: SAVEPOINT (opening the group transaction first when none is open); fn();
  // RELEASE on success, ROLLBACK TO on error or throw. Nothing is durable until commit_group().
  template <class F>
  auto with_transaction(F&& fn) -> decltype(fn());

  // Group mode on (listener != nullptr) or off. Switch it only while no group is open.
  void set_group(TransactionGroupListener* listener);
  bool group_mode() const { return group_ != nullptr; }
  bool group_open() const { return group_open_; }
  // COMMIT the group transaction (nothing to do when none is open). On failure the group's writes
  // are rolled back and the error says so. A group that SQLite rolled back by itself after an error
  // (disk full, I/O error) is reported here as failed too.
  Result<void> commit_group();
  std::size_t cached_statements() const { return cache_ ? cache_->size() : 0; }

  bool in_transaction() const;
  int changes() const;
  // The file path, or the URL without its password.
  const std::string& path() const { return path_; }
  Backend backend() const { return pg_ ? Backend::Postgres : Backend::Sqlite; }
  // Several daemons on one PostgreSQL database: each connection has a random identity, held as a
  // session-level advisory lock for as long as the connection lives (the server drops it when the
  // process dies, however it dies). Rows a daemon is working on (a card in progress, an open session)
  // carry it, so another daemon can tell work whose daemon is gone from work still running.
  // 0 on SQLite, where one process owns the file.
  std::int64_t instance() const { return instance_; }
  // An SQL condition, true when the daemon named by `column` is gone (or none is named). On SQLite
  // it is always true: only a starting server asks, and then no other is running.
  std::string owner_gone_sql(std::string_view column) const;
  // A role only one daemon plays at a time (e.g. "hlr-outbox"): true when this connection holds it
  // (it keeps it until it closes), false while another does. Always true on SQLite.
  Result<bool> hold_role(std::string_view role);
  // Appended to a SELECT that reads rows the transaction then changes on what it read (a card's
  // state, a retailer's failure count): " FOR NO KEY UPDATE" on PostgreSQL inside a transaction, so
  // another daemon's transaction that wants the same rows waits until this one has ended (and then
  // reads what it wrote); "" otherwise (SQLite's single writer already orders them). NO KEY: the
  // foreign-key checks of other transactions (on the row's key) need not wait.
  const char* row_lock_sql() const;
  // Runs fn in a transaction of its own, committed when fn succeeds whatever becomes of the current
  // one: on PostgreSQL on a second connection of this daemon (opened when first needed), with no
  // writer lock, so fn must keep its writes safe against other daemons' with row locks; it must not
  // wait for a row the current transaction holds. On SQLite (one writer, whose lock the current
  // transaction holds) fn runs right here, inside the current transaction.
  Result<void> run_apart(const std::function<Result<void>(Database&)>& fn);
  // Audit entries (AuditLog::append) wait here, in order, until just before their transaction's
  // COMMIT. Only then does each take its place in the chain (its seq and the previous entry's hash),
  // on PostgreSQL under the chain's own lock, which is so held for the length of a COMMIT and not of
  // the whole transaction: daemons append to one chain, without forks, and without waiting for each
  // other's transactions. A call whose savepoint rolls back drops the entries it added; a rollback
  // drops them all.
  struct AuditDraft {
    std::int64_t at = 0;  // unix seconds
    std::string actor, event, subject, detail;
    // The entry's chain hash at a place: its seq and the hash of the entry before it.
    std::function<Bytes(const AuditDraft& self, std::int64_t seq, ByteView prev_hash)> hash;
  };
  // Inside a transaction only (AuditLog checks).
  void add_audit_draft(AuditDraft draft) { audit_drafts_.push_back(std::move(draft)); }
  // SQLite only (backup, group commit); null on PostgreSQL.
  sqlite3* handle() { return db_; }

 private:
  struct TransparentHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  using Cache = std::unordered_map<std::string, std::shared_ptr<detail::CachedStatement>, TransparentHash,
                                   std::equal_to<>>;

  Database(sqlite3* db, std::string path);
  Database(std::unique_ptr<detail::PgConnection> pg, std::string shown);
  static Result<Database> open_postgres(const std::string& url, OpenMode mode);
  void close() noexcept;
  // After a failed call inside with_transaction: may the transaction be run again?
  bool retry_after_failure(int attempt);
  Result<void> begin_immediate();
  Result<void> commit();
  void rollback() noexcept;
  Result<void> begin_savepoint();
  Result<void> release_savepoint();
  void rollback_savepoint() noexcept;
  Result<void> run_cached(std::string_view sql, std::string_view what);
  // Writes audit_drafts_ into the chain (audit_drafts.cpp); the last step before COMMIT.
  Result<void> write_audit_drafts();

  sqlite3* db_ = nullptr;
  std::string path_;
  std::unique_ptr<Cache> cache_;
  TransactionGroupListener* group_ = nullptr;
  bool group_open_ = false;
  bool in_savepoint_ = false;
  // PostgreSQL: a call's RELEASE and the next call's SAVEPOINT go out with that call's first
  // statement (or are done by COMMIT): no round trip of their own.
  bool release_pending_ = false;
  std::vector<AuditDraft> audit_drafts_;
  std::size_t audit_drafts_at_call_ = 0;  // how many there were when the current call began
  std::unique_ptr<detail::PgConnection> pg_;
  std::unique_ptr<Database> apart_;  // run_apart's connection (PostgreSQL)
  bool apart_connection_ = false;    // this is one: its transactions take no writer lock
  std::int64_t instance_ = 0;
};

// "what: message (code name)" plus advice for the errors an operator can act on.
Error sqlite_error(sqlite3* db, int rc, std::string_view what);

template <class... Args>
Result<void> Database::run(std::string_view sql, std::string_view what, const Args&... binds) {
  auto stmt = prepare(sql, what);
  if (!stmt) return stmt.error();
  return stmt->bind_all(binds...).run();
}

template <class... Args>
Result<int> Database::update(std::string_view sql, std::string_view what, const Args&... binds) {
  if (auto done = run(sql, what, binds...); !done) return done.error();
  return changes();
}

template <class... Args>
Result<std::optional<Statement>> Database::first_row(std::string_view sql, std::string_view what,
                                                     const Args&... binds) {
  auto stmt = prepare(sql, what);
  if (!stmt) return stmt.error();
  auto row = stmt->bind_all(binds...).step();
  if (!row) return row.error();
  if (!*row) return std::optional<Statement>{};
  return std::optional<Statement>{std::move(stmt).value()};
}

template <class Read, class... Args>
auto Database::read_row(std::string_view sql, std::string_view what, Read read, const Args&... binds)
    -> Result<std::optional<std::invoke_result_t<Read&, const Statement&>>> {
  using Row = std::invoke_result_t<Read&, const Statement&>;
  auto row = first_row(sql, what, binds...);
  if (!row) return row.error();
  if (!*row) return std::optional<Row>{};
  return std::optional<Row>{read(static_cast<const Statement&>(**row))};
}

template <class... Args>
Result<std::int64_t> Database::insert_id(std::string_view sql, std::string_view what, const Args&... binds) {
  auto stmt = prepare(sql, what);
  if (!stmt) return stmt.error();
  auto ids = stmt->bind_all(binds...).collect([](const Statement& s) { return s.column_int(0); });
  if (!ids) return ids.error();
  if (ids->size() != 1) return fail("database error during " + std::string(what) + ": the insert returned no id");
  return ids->front();
}

template <class Read, class... Args>
auto Database::read_rows(std::string_view sql, std::string_view what, Read read, const Args&... binds)
    -> Result<std::vector<std::invoke_result_t<Read&, const Statement&>>> {
  auto stmt = prepare(sql, what);
  if (!stmt) return stmt.error();
  return stmt->bind_all(binds...).collect(std::move(read));
}

template <class F>
auto Database::with_transaction(F&& fn) -> decltype(fn()) {
  // The same steps in both modes; only what begins, ends and undoes the call's writes differs.
  // A conflict with another daemon's transaction (PostgreSQL only) runs fn again, a bounded number
  // of times: transaction bodies touch only the database, so running one again is safe.
  const bool grouped = group_ != nullptr;
  auto undo = [this, grouped]() noexcept { grouped ? rollback_savepoint() : rollback(); };
  for (int attempt = 1;; ++attempt) {
    if (auto begun = grouped ? begin_savepoint() : begin_immediate(); !begun) {
      if (retry_after_failure(attempt)) continue;
      return begun.error();
    }
    try {
      auto result = fn();
      if (!result) {
        undo();
        if (retry_after_failure(attempt)) continue;
        return result;
      }
      if (auto ended = grouped ? release_savepoint() : commit(); !ended) {
        undo();
        if (retry_after_failure(attempt)) continue;
        return ended.error();
      }
      return result;
    } catch (...) {
      undo();
      throw;
    }
  }
}

}  // namespace cardperso::ads
