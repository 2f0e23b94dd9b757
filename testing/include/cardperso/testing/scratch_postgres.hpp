#pragma once
// A database of its own on the tests' throwaway PostgreSQL cluster (tests/pg/pg_cluster.sh, started
// by the cardperso_pg_cluster ctest fixture, its base URL in CARDPERSO_TEST_PG): created empty from
// template0, dropped (connections and all) when this goes.
#include <string>

namespace cardperso::testing {

// CARDPERSO_TEST_PG, or empty when the test runs without PostgreSQL.
std::string postgres_base_url();

class ScratchPostgresDatabase {
 public:
  explicit ScratchPostgresDatabase(const std::string& base_url);
  ~ScratchPostgresDatabase();
  ScratchPostgresDatabase(const ScratchPostgresDatabase&) = delete;
  ScratchPostgresDatabase& operator=(const ScratchPostgresDatabase&) = delete;
  const std::string& url() const { return url_; }

 private:
  std::string base_url_, name_, url_;
};

// Runs SQL on its own connection; returns the error message, empty on success.
std::string postgres_exec(const std::string& url, const std::string& sql);

}  // namespace cardperso::testing
