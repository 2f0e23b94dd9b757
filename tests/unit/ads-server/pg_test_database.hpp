#pragma once
// The store tests run twice: on a SQLite file (label unit) and, with CARDPERSO_TEST_PG set to a
// throwaway cluster's base URL (tests/pg/pg_cluster.sh, started by a ctest fixture), on PostgreSQL
// (label integration). On PostgreSQL each test gets a database of its own, dropped after it.
#include "cardperso/testing/scratch_postgres.hpp"

namespace cardperso::ads::test {

using testing::postgres_base_url;
using testing::postgres_exec;
using PgTestDatabase = testing::ScratchPostgresDatabase;

}  // namespace cardperso::ads::test
