#pragma once
// The store tests run twice: on a SQLite file (label unit) and, with CARDPERSO_TEST_PG set to a
// throwaway cluster's base URL (tests/pg/pg_cluster.sh, started by a ctest fixture), on PostgreSQL
// (label integration). On PostgreSQL each test gets a database of its own, dropped after it.
#include <string>

namespace cardperso::ads::test {

// The cluster's base URL, or empty when the tests run on SQLite.
std::string postgres_base_url();

class PgTestDatabase {
 public:
  // CREATE DATABASE on the cluster at `base_url`; url() connects to it.
  explicit PgTestDatabase(const std::string& base_url);
  ~PgTestDatabase();
  PgTestDatabase(const PgTestDatabase&) = delete;
  PgTestDatabase& operator=(const PgTestDatabase&) = delete;
  const std::string& url() const { return url_; }

 private:
  std::string base_url_, name_, url_;
};

// Runs SQL on its own connection to a PostgreSQL database; returns the error message, empty on success.
std::string postgres_exec(const std::string& url, const std::string& sql);

}  // namespace cardperso::ads::test
