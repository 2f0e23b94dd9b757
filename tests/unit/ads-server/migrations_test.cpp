#include "cardperso/ads/store/migrations.hpp"

#include <gtest/gtest.h>

#include "test_support.hpp"

namespace cardperso::ads {
namespace {

using test::must;

bool has_table(Database& db, const std::string& name) {
  auto s = must(db.prepare("SELECT count(*) FROM sqlite_master WHERE type IN ('table','trigger') AND name = ?1", "t"));
  s.bind(1, name);
  EXPECT_TRUE(must(s.step()));
  return s.column_int(0) == 1;
}

TEST(Migrations, EveryMigrationIsDescribed) {
  ASSERT_GE(migrations().size(), 1u);
  EXPECT_EQ(latest_schema_version(), static_cast<int>(migrations().size()));
  for (const auto& m : migrations()) {
    EXPECT_NE(std::string(m.description), "");
    EXPECT_NE(std::string(m.sql), "");
  }
}

TEST(Migrations, FromEmptyToLatest) {
  test::TempDir dir;
  auto db = must(open_ads_database(dir.file("ads.db"), OpenMode::CreateNew));
  EXPECT_EQ(must(schema_version(db)), latest_schema_version());
  for (const char* t : {"retailers", "sessions", "audit_log", "ads_meta", "audit_log_no_update", "audit_log_no_delete"}) {
    EXPECT_TRUE(has_table(db, t)) << t;
  }
}

TEST(Migrations, ReopenIsIdempotentAndKeepsData) {
  test::TempDir dir;
  const auto path = dir.file("ads.db");
  {
    auto db = must(open_ads_database(path, OpenMode::CreateNew));
    must(db.exec("INSERT INTO sessions (retailer_serial, peer, started_at) VALUES ('1234567890', 'p', 1)", "seed"));
  }
  for (int i = 0; i < 2; ++i) {
    auto db = must(open_ads_database(path, OpenMode::MustExist));
    EXPECT_EQ(must(migrate(db)), latest_schema_version());
  }
  EXPECT_EQ(test::raw_int(path, "SELECT count(*) FROM sessions"), 1);
  EXPECT_EQ(test::raw_int(path, "PRAGMA user_version"), latest_schema_version());
}

TEST(Migrations, RefusesADatabaseFromANewerProgram) {
  test::TempDir dir;
  const auto path = dir.file("ads.db");
  { auto db = must(open_ads_database(path, OpenMode::CreateNew)); }
  const int newer = latest_schema_version() + 1;
  ASSERT_EQ(test::raw_exec(path, "PRAGMA user_version = " + std::to_string(newer)), "");
  auto db = open_ads_database(path, OpenMode::MustExist);
  ASSERT_FALSE(db);
  EXPECT_EQ(db.error().message, "database schema version " + std::to_string(newer) + " is newer than this ads-server (" +
                                    std::to_string(latest_schema_version()) + "); upgrade the program");
  // and it left the file alone
  EXPECT_EQ(test::raw_int(path, "PRAGMA user_version"), newer);
}

TEST(Migrations, AFailedMigrationLeavesThePreviousVersion) {
  test::TempDir dir;
  const auto path = dir.file("ads.db");
  {
    auto db = must(Database::open(path, OpenMode::CreateNew));
    // A table in the way makes migration 1 fail half-way: nothing of it may stay.
    must(db.exec("CREATE TABLE audit_log (x INTEGER)", "block migration"));
  }
  auto db = open_ads_database(path, OpenMode::MustExist);
  ASSERT_FALSE(db);
  EXPECT_NE(db.error().message.find("migrate schema to version 1"), std::string::npos) << db.error().message;
  EXPECT_EQ(test::raw_int(path, "PRAGMA user_version"), 0);
  EXPECT_EQ(test::raw_int(path, "SELECT count(*) FROM sqlite_master WHERE name = 'retailers'"), 0);
}

}  // namespace
}  // namespace cardperso::ads
