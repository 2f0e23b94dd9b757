#pragma once
// The ground every store test stands on: a new ADS database (a SQLite file in a temporary directory,
// or a fresh PostgreSQL database when CARDPERSO_TEST_PG is set), a fixed master
// key and a clock the test moves by hand. Derived fixtures build their stores on it in SetUp.
#include <optional>
#include <string>

#include "cardperso/ads/store/clock.hpp"
#include "cardperso/ads/store/master_key.hpp"
#include "cardperso/ads/store/migrations.hpp"
#include "cardperso/ads/store/sqlite_db.hpp"
#include "pg_test_database.hpp"
#include "test_support.hpp"

namespace cardperso::ads::test {

class DatabaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const auto base = postgres_base_url(); !base.empty()) {
      pg.emplace(base);
      db_path = pg->url();
    } else {
      db_path = dir.file("ads.db");
    }
    db.emplace(must(open_ads_database(db_path, OpenMode::CreateNew)));
  }
  Clock clock() {
    return [this] { return now; };
  }

  TempDir dir;
  std::optional<PgTestDatabase> pg;  // declared before db: the connection closes before the drop
  std::string db_path;  // the SQLite file, or the PostgreSQL database's URL
  Seconds now = from_unix(1700000000);
  MasterKey key = MasterKey::from_bytes(hex("0f0e0d0c0b0a09080706050403020100"));
  std::optional<Database> db;
};

}  // namespace cardperso::ads::test
