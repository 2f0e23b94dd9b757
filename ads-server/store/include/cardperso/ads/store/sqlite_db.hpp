#pragma once
// One SQLite connection, set up for an issuer's records: WAL, synchronous=FULL (a commit that
// returned is on disk), foreign keys enforced, a busy timeout. Data only ever enters SQL through bound
// parameters. Every SQLite error becomes a Result error naming the operation that failed.
#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <string_view>

#include "cardperso/common/bytes.hpp"
#include "cardperso/common/result.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace cardperso::ads {

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
  Statement& bind(int index, std::optional<std::int64_t> value);
  Statement& bind_null(int index);

  // One step: true when a row is ready, false when the statement is done.
  Result<bool> step();
  // Steps to the end, for statements that return no rows.
  Result<void> run();

  bool column_is_null(int index) const;
  std::int64_t column_int(int index) const;
  std::optional<std::int64_t> column_optional_int(int index) const;
  std::string column_text(int index) const;
  Bytes column_blob(int index) const;

 private:
  friend class Database;
  Statement(sqlite3* db, sqlite3_stmt* stmt, std::string what);
  void note_bind(int rc, int index);

  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
  std::string what_;
  std::optional<Error> bind_error_;
};

enum class OpenMode {
  CreateNew,  // the file must not exist; it is created with mode 0600 (it holds sealed keys)
  MustExist,  // the file must exist (created earlier by `adsctl init`)
};

class Database {
 public:
  static Result<Database> open(const std::string& path, OpenMode mode);

  Database(Database&& other) noexcept;
  Database& operator=(Database&& other) noexcept;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  ~Database();

  // `what` names the operation in error messages, e.g. "enrol retailer: insert".
  Result<Statement> prepare(std::string_view sql, std::string_view what);
  // Runs constant SQL (schema scripts, pragmas); never data.
  Result<void> exec(std::string_view sql, std::string_view what);

  // BEGIN IMMEDIATE; fn(); COMMIT when fn returned success, ROLLBACK when it returned an error or
  // threw. Transactions do not nest: calling this inside one is a programmer error.
  template <class F>
  auto with_transaction(F&& fn) -> decltype(fn());

  bool in_transaction() const;
  std::int64_t last_insert_rowid() const;
  int changes() const;
  const std::string& path() const { return path_; }
  sqlite3* handle() { return db_; }

 private:
  Database(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  Result<void> begin_immediate();
  Result<void> commit();
  void rollback() noexcept;

  sqlite3* db_ = nullptr;
  std::string path_;
};

// "what: message (code name)" plus advice for the errors an operator can act on.
Error sqlite_error(sqlite3* db, int rc, std::string_view what);

template <class F>
auto Database::with_transaction(F&& fn) -> decltype(fn()) {
  if (auto begun = begin_immediate(); !begun) return begun.error();
  try {
    auto result = fn();
    if (!result) {
      rollback();
      return result;
    }
    if (auto committed = commit(); !committed) {
      rollback();
      return committed.error();
    }
    return result;
  } catch (...) {
    rollback();
    throw;
  }
}

}  // namespace cardperso::ads
