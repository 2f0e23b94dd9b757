#include "postgres_connection.hpp"

#include <charconv>
#include <cstdlib>
#include <cstring>

#include <openssl/crypto.h>

namespace cardperso::ads::detail {

namespace {

constexpr Oid kInt8Oid = 20;
constexpr Oid kByteaOid = 17;

std::string advice_for(std::string_view sqlstate) {
  if (sqlstate.substr(0, 2) == "08" || sqlstate == "57P01" || sqlstate == "57P02" || sqlstate == "57P03")
    return "; the connection to PostgreSQL failed: check that the server runs and the --db URL";
  if (sqlstate.substr(0, 2) == "28") return "; PostgreSQL refused the login: check the role and its authentication";
  if (sqlstate == "3D000") return "; create the database first (createdb), then run `adsctl init --db URL`";
  if (sqlstate == "42501") return "; the role lacks a privilege on the ADS's tables: see docs/operations.md (PostgreSQL)";
  if (sqlstate == "53100") return "; the database server's disk is full: free space and try again";
  if (retryable_sqlstate(sqlstate)) return "; another daemon's transaction conflicted: try again";
  return {};
}

}  // namespace

bool retryable_sqlstate(std::string_view sqlstate) {
  return sqlstate == "40001" || sqlstate == "40P01" || sqlstate == "55P03";
}

Result<std::unique_ptr<PgConnection>> PgConnection::connect(const std::string& url, const std::string& shown) {
  PGconn* conn = PQconnectdb(url.c_str());
  if (conn == nullptr) return fail("cannot connect to PostgreSQL at " + shown + ": out of memory");
  std::unique_ptr<PgConnection> c(new PgConnection(conn, shown));
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string message = PQerrorMessage(conn);
    while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
    return fail("cannot connect to PostgreSQL at " + shown + ": " + message +
                "; check that the server runs, the --db URL, and the role's authentication");
  }
  if (PQserverVersion(conn) < 150000) {
    return fail("PostgreSQL at " + shown + " is version " + std::to_string(PQserverVersion(conn)) +
                "; the ADS needs 15 or later");
  }
  if (auto set = c->apply_session_settings(); !set) return set.error();
  return c;
}

Result<std::unique_ptr<PgConnection>> PgConnection::connect_like(const PgConnection& other) {
  PQconninfoOption* options = PQconninfo(other.conn_);
  if (options == nullptr) return fail("cannot open a second connection to PostgreSQL at " + other.shown_ + ": out of memory");
  std::vector<const char*> keywords;
  std::vector<const char*> values;
  for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (o->val == nullptr || *o->val == '\0') continue;
    keywords.push_back(o->keyword);
    values.push_back(o->val);
  }
  keywords.push_back(nullptr);
  values.push_back(nullptr);
  PGconn* conn = PQconnectdbParams(keywords.data(), values.data(), 0);
  // The options hold the password, if any: wiped before they are freed.
  for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (o->val != nullptr) OPENSSL_cleanse(o->val, std::strlen(o->val));
  }
  PQconninfoFree(options);
  if (conn == nullptr) return fail("cannot open a second connection to PostgreSQL at " + other.shown_ + ": out of memory");
  std::unique_ptr<PgConnection> c(new PgConnection(conn, other.shown_));
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string message = PQerrorMessage(conn);
    while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
    return fail("cannot open a second connection to PostgreSQL at " + other.shown_ + ": " + message);
  }
  if (auto set = c->apply_session_settings(); !set) return set.error();
  return c;
}

Result<void> PgConnection::apply_session_settings() {
  // READ COMMITTED whatever the server's default: the writer lock (not the isolation level) is what
  // orders writers. A transaction left open by a hung daemon is ended by the server so that the
  // others can write again; a lock wait that long means something is wrong and is reported.
  return exec("SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ COMMITTED; "
              "SET idle_in_transaction_session_timeout = '15s'; SET lock_timeout = '30s'; "
              "SET client_min_messages = warning; SET TIME ZONE 'UTC'",
              "open database " + shown_ + ": session settings");
}

void PgConnection::reconnect_if_dropped() {
  if (PQstatus(conn_) == CONNECTION_OK || transaction_open_) return;
  PQreset(conn_);
  prepared_.clear();
  if (PQstatus(conn_) != CONNECTION_OK) return;  // the statement fails and says so; tried again next time
  if (!apply_session_settings()) return;
  for (const auto key : session_locks_) {
    PQclear(PQexec(conn_, ("SELECT pg_advisory_lock(" + std::to_string(key) + ")").c_str()));
  }
}

Result<void> PgConnection::take_session_lock(std::int64_t key, std::string_view what) {
  if (auto r = exec("SELECT pg_advisory_lock(" + std::to_string(key) + ")", what); !r) return r;
  session_locks_.push_back(key);
  return {};
}

Result<bool> PgConnection::try_take_session_lock(std::int64_t key, std::string_view what) {
  for (const auto held : session_locks_) {
    if (held == key) return true;  // taking it again would only stack it
  }
  reconnect_if_dropped();
  PGresult* res = PQexec(conn_, ("SELECT pg_try_advisory_lock(" + std::to_string(key) + ")").c_str());
  if (PQresultStatus(res) != PGRES_TUPLES_OK) {
    Error e = error_from(res, what);
    PQclear(res);
    return e;
  }
  const bool taken = PQntuples(res) == 1 && std::strcmp(PQgetvalue(res, 0, 0), "t") == 0;
  PQclear(res);
  if (taken) session_locks_.push_back(key);
  return taken;
}

PgConnection::~PgConnection() {
  if (conn_ != nullptr) PQfinish(conn_);
}

Error PgConnection::error_from(const PGresult* res, std::string_view what) {
  const char* state = res != nullptr ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  const std::string sqlstate = state != nullptr ? state : "";
  std::string message = res != nullptr ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) != nullptr
                                             ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)
                                             : PQresultErrorMessage(res)
                                       : PQerrorMessage(conn_);
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  if (message.empty()) message = PQerrorMessage(conn_);
  retryable_ = retryable_sqlstate(sqlstate);
  return fail("database error during " + std::string(what) + ": " + message +
              (sqlstate.empty() ? std::string() : " (SQLSTATE " + sqlstate + ")") + advice_for(sqlstate));
}

const std::string& PgConnection::translate(std::string_view sql) {
  if (auto it = translated_.find(std::string(sql)); it != translated_.end()) return it->second;
  std::string out;
  out.reserve(sql.size() + 8);
  int next = 0;
  char quote = 0;
  for (std::size_t i = 0; i < sql.size(); ++i) {
    const char ch = sql[i];
    if (quote != 0) {
      out += ch;
      if (ch == quote) quote = 0;  // a doubled quote closes and reopens: same result
      continue;
    }
    if (ch == '\'' || ch == '"') {
      quote = ch;
      out += ch;
      continue;
    }
    if (ch != '?') {
      out += ch;
      continue;
    }
    std::size_t j = i + 1;
    while (j < sql.size() && sql[j] >= '0' && sql[j] <= '9') ++j;
    if (j > i + 1) {
      out += '$';
      out.append(sql.substr(i + 1, j - i - 1));
      i = j - 1;
    } else {
      out += '$' + std::to_string(++next);
    }
  }
  return translated_.emplace(std::string(sql), std::move(out)).first->second;
}

Result<void> PgConnection::exec(std::string_view sql, std::string_view what) {
  reconnect_if_dropped();
  std::string text;
  for (const auto& command : deferred_) text += command + "; ";
  deferred_.clear();
  text += sql;
  PGresult* res = PQexec(conn_, text.c_str());
  const auto status = res != nullptr ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    Error e = error_from(res, what);
    PQclear(res);
    return e;
  }
  PQclear(res);
  return {};
}

Result<PGresult*> PgConnection::run(const std::string& sql, const std::vector<std::optional<std::string>>& values,
                                    const std::vector<Oid>& types, const std::vector<int>& formats,
                                    std::string_view what) {
  reconnect_if_dropped();
  std::vector<const char*> pointers(values.size(), nullptr);
  std::vector<int> lengths(values.size(), 0);
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (values[i]) {
      pointers[i] = values[i]->data();
      lengths[i] = static_cast<int>(values[i]->size());
    }
  }
  auto it = prepared_.find(&sql);
  if (it == prepared_.end()) {
    std::string name = "s" + std::to_string(prepared_.size() + 1);
    PGresult* made = PQprepare(conn_, name.c_str(), sql.c_str(), static_cast<int>(types.size()), types.data());
    if (PQresultStatus(made) != PGRES_COMMAND_OK) {
      Error e = error_from(made, std::string(what) + " (prepare)");
      PQclear(made);
      return e;
    }
    PQclear(made);
    it = prepared_.emplace(&sql, std::move(name)).first;
  }
  if (!deferred_.empty()) {
    return run_pipelined(it->second, static_cast<int>(values.size()), pointers.data(), lengths.data(),
                         formats.data(), what);
  }
  PGresult* res = PQexecPrepared(conn_, it->second.c_str(), static_cast<int>(values.size()), pointers.data(),
                                 lengths.data(), formats.data(), 0);
  const auto status = res != nullptr ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    Error e = error_from(res, what);
    PQclear(res);
    return e;
  }
  const char* tuples = PQcmdTuples(res);
  changes_ = (tuples != nullptr && *tuples != '\0') ? std::atoi(tuples) : 0;
  return res;
}

Result<PGresult*> PgConnection::run_pipelined(const std::string& name, int count, const char* const* values,
                                              const int* lengths, const int* formats, std::string_view what) {
  std::vector<std::string> commands;
  commands.swap(deferred_);
  if (PQenterPipelineMode(conn_) != 1) {
    // Not possible here (the connection is idle between statements); say so rather than guess.
    return fail("database error during " + std::string(what) + ": cannot enter pipeline mode: " +
                std::string(PQerrorMessage(conn_)));
  }
  bool sent = true;
  for (const auto& command : commands) {
    sent = sent && PQsendQueryParams(conn_, command.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0) == 1;
  }
  sent = sent && PQsendQueryPrepared(conn_, name.c_str(), count, values, lengths, formats, 0) == 1;
  sent = sent && PQpipelineSync(conn_) == 1;

  // Each query's results end with a null; a query after a failed one is PGRES_PIPELINE_ABORTED; the
  // sync's own result closes the pipeline. The first failure is the one reported.
  std::optional<Error> failure;
  PGresult* answer = nullptr;
  if (!sent) failure = error_from(nullptr, what);
  for (std::size_t i = 0; sent && i <= commands.size(); ++i) {
    PGresult* res = PQgetResult(conn_);
    if (res == nullptr) {
      if (!failure) failure = error_from(nullptr, what);
      break;
    }
    const auto status = PQresultStatus(res);
    const bool ok = status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
    if (ok && i == commands.size()) {
      answer = res;
    } else {
      if (!ok && status != PGRES_PIPELINE_ABORTED && !failure) {
        failure = error_from(res, i < commands.size() ? std::string(what) + " (" + commands[i] + ")" : what);
      }
      PQclear(res);
    }
    while (PGresult* extra = PQgetResult(conn_)) PQclear(extra);
  }
  // Up to the sync (also after a failure, when results may be left), bounded: a broken connection
  // gives nulls.
  for (int i = 0; i < 64 && PQpipelineStatus(conn_) != PQ_PIPELINE_OFF; ++i) {
    PGresult* res = PQgetResult(conn_);
    if (res != nullptr) {
      const bool sync = PQresultStatus(res) == PGRES_PIPELINE_SYNC;
      PQclear(res);
      if (sync && PQexitPipelineMode(conn_) == 1) break;
    } else if (PQexitPipelineMode(conn_) == 1 || PQstatus(conn_) != CONNECTION_OK) {
      break;
    }
  }
  if (failure || answer == nullptr) {
    if (answer != nullptr) PQclear(answer);
    return failure ? *failure : error_from(nullptr, what);
  }
  const char* tuples = PQcmdTuples(answer);
  changes_ = (tuples != nullptr && *tuples != '\0') ? std::atoi(tuples) : 0;
  return answer;
}

Result<void> PgConnection::begin(std::string_view sql) {
  deferred_.clear();
  if (auto begun = exec(sql, "begin transaction (writer lock)"); !begun) {
    rollback();
    return begun;
  }
  transaction_open_ = true;
  return {};
}

Result<void> PgConnection::commit() {
  transaction_open_ = false;
  deferred_.clear();  // savepoint bookkeeping only: COMMIT releases every savepoint
  const bool failed_before = PQtransactionStatus(conn_) == PQTRANS_INERROR;
  PGresult* res = PQexec(conn_, "COMMIT");
  const auto status = res != nullptr ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK) {
    Error e = error_from(res, "commit transaction");
    PQclear(res);
    return e;
  }
  const bool rolled_back = std::strcmp(PQcmdStatus(res), "ROLLBACK") == 0;
  PQclear(res);
  if (failed_before || rolled_back) {
    return fail("database error during commit transaction: a statement of the transaction had failed, so PostgreSQL "
                "rolled it back; nothing of it was written");
  }
  return {};
}

bool PgConnection::in_transaction() const { return PQtransactionStatus(conn_) != PQTRANS_IDLE; }

bool PgConnection::in_failed_transaction() const { return PQtransactionStatus(conn_) == PQTRANS_INERROR; }

void PgConnection::rollback() noexcept {
  transaction_open_ = false;
  deferred_.clear();
  if (PQtransactionStatus(conn_) == PQTRANS_INTRANS || PQtransactionStatus(conn_) == PQTRANS_INERROR) {
    PQclear(PQexec(conn_, "ROLLBACK"));
  }
}

// ---- PgQuery ----

PgQuery::~PgQuery() {
  if (result_ != nullptr) PQclear(result_);
}

void PgQuery::slot(int index) {
  const auto n = static_cast<std::size_t>(index);
  if (values_.size() < n) {
    values_.resize(n);
    types_.resize(n, 0);
    formats_.resize(n, 0);
  }
}

void PgQuery::bind(int index, std::int64_t value) {
  slot(index);
  values_[index - 1] = std::to_string(value);
  types_[index - 1] = kInt8Oid;
  formats_[index - 1] = 0;
}

void PgQuery::bind(int index, std::string_view text) {
  slot(index);
  values_[index - 1] = std::string(text);
  types_[index - 1] = 0;  // the server infers it from the context, as SQLite's affinity would
  formats_[index - 1] = 0;
}

void PgQuery::bind(int index, ByteView blob) {
  slot(index);
  values_[index - 1] = std::string(reinterpret_cast<const char*>(blob.data()), blob.size());
  types_[index - 1] = kByteaOid;
  formats_[index - 1] = 1;
}

void PgQuery::bind_null(int index) {
  slot(index);
  values_[index - 1].reset();
  types_[index - 1] = 0;
  formats_[index - 1] = 0;
}

Result<bool> PgQuery::step(std::string_view what) {
  if (!ran_) {
    ran_ = true;
    auto res = conn_->run(*sql_, values_, types_, formats_, what);
    // The bound values may be sealed blobs or codes: wipe them now the server has them.
    for (auto& v : values_) {
      if (v) std::fill(v->begin(), v->end(), '\0');
    }
    if (!res) return res.error();
    result_ = *res;
    rows_ = PQresultStatus(result_) == PGRES_TUPLES_OK ? PQntuples(result_) : 0;
    row_ = 0;
    return row_ < rows_;
  }
  if (row_ < rows_) ++row_;
  return row_ < rows_;
}

bool PgQuery::is_null(int column) const {
  return result_ == nullptr || row_ >= rows_ || column >= PQnfields(result_) || PQgetisnull(result_, row_, column) != 0;
}

std::int64_t PgQuery::integer(int column) const {
  if (is_null(column)) return 0;
  const char* v = PQgetvalue(result_, row_, column);
  // Booleans read as SQLite's 0/1; numeric (sum of bigints) as its integer part.
  if (std::strcmp(v, "t") == 0) return 1;
  if (std::strcmp(v, "f") == 0) return 0;
  std::int64_t out = 0;
  const auto len = std::strlen(v);
  std::from_chars(v, v + len, out);
  return out;
}

std::string PgQuery::text(int column) const {
  if (is_null(column)) return {};
  return std::string(PQgetvalue(result_, row_, column), static_cast<std::size_t>(PQgetlength(result_, row_, column)));
}

Bytes PgQuery::blob(int column) const {
  if (is_null(column)) return {};
  std::size_t size = 0;
  unsigned char* raw = PQunescapeBytea(reinterpret_cast<const unsigned char*>(PQgetvalue(result_, row_, column)), &size);
  if (raw == nullptr) return {};
  Bytes out(raw, raw + size);
  std::memset(raw, 0, size);
  PQfreemem(raw);
  return out;
}

}  // namespace cardperso::ads::detail
