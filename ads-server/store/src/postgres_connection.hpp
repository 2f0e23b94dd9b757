#pragma once
// The PostgreSQL side of Database and Statement (sqlite_db.hpp), over libpq. Private to the store.
//
// Why libpq and not libpqxx: the store already has its own statement/row interface (Statement) that
// both backends must serve; libpq's C calls map onto it one to one (PQexecParams, PQgetvalue), while
// libpqxx would add a second C++ row/transaction model to translate from. Results are read in text
// form; blobs are sent in binary form (bytea) so no key ever passes through an escaping routine.
//
// Daemons write at once, at READ COMMITTED: their group transactions share the writer lock (an
// advisory lock taken right after BEGIN, exclusively by adsctl); the store's read-then-write logic is
// ordered by row locks (Database::row_lock_sql), numbers by SKIP LOCKED and blocks taken apart, the
// audit chain by its own lock taken just before COMMIT (docs/ads-storage.md, "PostgreSQL").
#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "cardperso/common/bytes.hpp"
#include "cardperso/common/result.hpp"

namespace cardperso::ads::detail {

// SQLSTATEs after which the whole transaction may be run again: serialization_failure,
// deadlock_detected, lock_not_available (lock_timeout).
bool retryable_sqlstate(std::string_view sqlstate);

class PgConnection {
 public:
  // `url` is a libpq connection URI (postgresql://...). `shown` is what messages call it (no password).
  static Result<std::unique_ptr<PgConnection>> connect(const std::string& url, const std::string& shown);
  // A second connection to the same server, database and role (libpq's own record of this one's
  // parameters: no URL kept around), with the same session settings.
  static Result<std::unique_ptr<PgConnection>> connect_like(const PgConnection& other);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // ?N and ? placeholders become $N; quoted text and identifiers are left alone. Cached per text.
  const std::string& translate(std::string_view sql);
  // Several statements without parameters (schema scripts, BEGIN/COMMIT).
  Result<void> exec(std::string_view sql, std::string_view what);
  // Commands without parameters or rows (SAVEPOINT, RELEASE) that go out with the next statement:
  // pipelined before it by run(), prepended to it by exec(); one round trip for both. A failure of
  // one is that statement's failure. commit() and rollback() drop what is still deferred.
  void defer(std::string command) { deferred_.push_back(std::move(command)); }
  // Runs one statement; the result stays owned by the caller (PQclear).
  Result<PGresult*> run(const std::string& sql, const std::vector<std::optional<std::string>>& values,
                        const std::vector<Oid>& types, const std::vector<int>& formats, std::string_view what);

  // Session-level advisory locks this connection holds (its daemon's identity, a role such as the HLR
  // outbox's sender); taken again after the connection is re-established. take: blocking;
  // try_take: false when another connection holds it.
  Result<void> take_session_lock(std::int64_t key, std::string_view what);
  Result<bool> try_take_session_lock(std::int64_t key, std::string_view what);

  // BEGIN and the writer lock (`sql`); until commit() or rollback() a dropped connection is not
  // re-established, so that no later statement of the lost transaction runs on its own.
  Result<void> begin(std::string_view sql);
  bool in_transaction() const;
  // A statement of the open transaction failed and nothing has rolled back to before it yet.
  bool in_failed_transaction() const;
  // COMMIT; an error when the server rolled back instead (a statement of the transaction had failed).
  Result<void> commit();
  void rollback() noexcept;
  int changes() const { return changes_; }
  // Set when the last failure was one a transaction may be retried after; reset by take_retryable().
  bool take_retryable() {
    const bool r = retryable_;
    retryable_ = false;
    return r;
  }
  PGconn* handle() { return conn_; }

 private:
  PgConnection(PGconn* conn, std::string shown) : conn_(conn), shown_(std::move(shown)) {}
  Error error_from(const PGresult* res, std::string_view what);
  Result<void> apply_session_settings();
  // A connection the server or the network dropped is re-established before the next statement
  // (the statement that saw it drop has failed already; an open transaction is lost with it).
  void reconnect_if_dropped();
  // run() with the deferred commands in front, in pipeline mode.
  Result<PGresult*> run_pipelined(const std::string& name, int count, const char* const* values, const int* lengths,
                                  const int* formats, std::string_view what);

  PGconn* conn_ = nullptr;
  std::string shown_;
  std::unordered_map<std::string, std::string> translated_;
  // Server-side prepared statements by translated text (whose address is stable in translated_):
  // the server parses and plans each text once per connection. Their parameter types are those of
  // the first binding; lost with the connection, so cleared when it is re-established.
  std::unordered_map<const std::string*, std::string> prepared_;
  int changes_ = 0;
  bool retryable_ = false;
  std::vector<std::int64_t> session_locks_;
  bool transaction_open_ = false;
  std::vector<std::string> deferred_;
};

// One statement's parameters and, after it ran, its rows.
class PgQuery {
 public:
  PgQuery(PgConnection& conn, const std::string& sql) : conn_(&conn), sql_(&sql) {}
  ~PgQuery();
  PgQuery(const PgQuery&) = delete;
  PgQuery& operator=(const PgQuery&) = delete;

  void bind(int index, std::int64_t value);
  void bind(int index, std::string_view text);
  void bind(int index, ByteView blob);
  void bind_null(int index);
  Result<bool> step(std::string_view what);

  bool is_null(int column) const;
  std::int64_t integer(int column) const;
  std::string text(int column) const;
  Bytes blob(int column) const;

 private:
  void slot(int index);

  PgConnection* conn_;
  const std::string* sql_;
  std::vector<std::optional<std::string>> values_;
  std::vector<Oid> types_;
  std::vector<int> formats_;
  PGresult* result_ = nullptr;
  int row_ = -1;
  int rows_ = 0;
  bool ran_ = false;
};

}  // namespace cardperso::ads::detail
