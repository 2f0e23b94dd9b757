#include "cardperso/testing/sql_reader.hpp"

#include <libpq-fe.h>
#include <sqlite3.h>

namespace cardperso::testing {

struct SqlReader::Pg {
  PGconn* conn = nullptr;
  ~Pg() { PQfinish(conn); }
};

struct SqlReader::Lite {
  sqlite3* db = nullptr;
  ~Lite() { sqlite3_close(db); }
};

SqlReader::SqlReader(const std::string& location) {
  if (location.rfind("postgresql://", 0) == 0 || location.rfind("postgres://", 0) == 0) {
    pg_ = std::make_unique<Pg>();
    pg_->conn = PQconnectdb(location.c_str());
    if (PQstatus(pg_->conn) != CONNECTION_OK) open_error_ = std::string("cannot connect: ") + PQerrorMessage(pg_->conn);
    return;
  }
  lite_ = std::make_unique<Lite>();
  if (sqlite3_open_v2(location.c_str(), &lite_->db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    open_error_ = "cannot open " + location + ": " + (lite_->db ? sqlite3_errmsg(lite_->db) : "out of memory");
    return;
  }
  sqlite3_busy_timeout(lite_->db, 5000);
}

SqlReader::~SqlReader() = default;

SqlRows SqlReader::query(const std::string& sql, const std::vector<std::string>& params) {
  if (!open_error_.empty()) return SqlRows{{}, open_error_};
  if (lite_) return query_rows(lite_->db, sql, params);
  // ?N -> $N (the checks' SQL has no '?' inside quotes).
  std::string text;
  for (std::size_t i = 0; i < sql.size(); ++i) text += sql[i] == '?' ? '$' : sql[i];
  std::vector<const char*> values;
  for (const auto& p : params) values.push_back(p.c_str());
  PGresult* res = PQexecParams(pg_->conn, text.c_str(), static_cast<int>(values.size()), nullptr, values.data(),
                               nullptr, nullptr, 0);
  SqlRows out;
  if (PQresultStatus(res) != PGRES_TUPLES_OK && PQresultStatus(res) != PGRES_COMMAND_OK) {
    out.error = sql + ": " + PQresultErrorMessage(res);
  } else {
    for (int r = 0; r < PQntuples(res); ++r) {
      SqlRow row;
      for (int c = 0; c < PQnfields(res); ++c) {
        row.push_back(PQgetisnull(res, r, c) != 0 ? std::nullopt : std::optional<std::string>(PQgetvalue(res, r, c)));
      }
      out.rows.push_back(std::move(row));
    }
  }
  PQclear(res);
  return out;
}

}  // namespace cardperso::testing
