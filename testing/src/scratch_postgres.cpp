#include "cardperso/testing/scratch_postgres.hpp"

#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <stdexcept>

namespace cardperso::testing {

std::string postgres_base_url() {
  const char* url = std::getenv("CARDPERSO_TEST_PG");
  return url != nullptr ? url : "";
}

std::string postgres_exec(const std::string& url, const std::string& sql) {
  PGconn* conn = PQconnectdb(url.c_str());
  std::string error;
  if (PQstatus(conn) != CONNECTION_OK) {
    error = PQerrorMessage(conn);
  } else {
    PGresult* res = PQexec(conn, sql.c_str());
    const auto status = PQresultStatus(res);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) error = PQresultErrorMessage(res);
    PQclear(res);
  }
  PQfinish(conn);
  return error;
}

namespace {
// base: postgresql:///postgres?host=... -> postgresql:///<name>?host=...
std::string with_database(const std::string& base, const std::string& name) {
  const auto slash = base.find('/', base.find("://") + 3);
  const auto query = base.find('?', slash);
  return base.substr(0, slash + 1) + name + (query == std::string::npos ? "" : base.substr(query));
}
}  // namespace

ScratchPostgresDatabase::ScratchPostgresDatabase(const std::string& base_url) : base_url_(base_url) {
  static std::atomic<int> counter{0};
  name_ = "t" + std::to_string(::getpid()) + "_" + std::to_string(++counter);
  if (auto e = postgres_exec(base_url_, "CREATE DATABASE " + name_ + " TEMPLATE template0"); !e.empty())
    throw std::runtime_error("cannot create the test database " + name_ + ": " + e);
  url_ = with_database(base_url_, name_);
}

ScratchPostgresDatabase::~ScratchPostgresDatabase() { postgres_exec(base_url_, "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)"); }

}  // namespace cardperso::testing
