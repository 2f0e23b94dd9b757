// Backup of a running ADS under load, and restore of that backup (docs/operations.md, "Backing up and
// restoring"): `adsctl backup` while the load generator's shop personalises cards through the real
// ads-server; the backup restored to a new path holds a sound database, a verifying audit chain and every
// card personalised before the backup began. Restoring over the database of the running server is
// refused; once the server is killed it goes through, and the database kept aside holds every card.
// `adsctl status` reports the live database.
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>
#include <iostream>
#include <set>
#include <thread>

#include <spdlog/spdlog.h>

#include "ads_under_load.hpp"

namespace cardperso::crash {
namespace {

using namespace std::chrono_literals;

constexpr std::size_t kCards = 200;
// The backup starts once this many cards are done, well before the last.
constexpr long long kCardsBeforeBackup = 20;

class BackupUnderLoad : public AdsUnderLoadTest {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(set_up("backup", kCards + 5)); }

  std::set<std::string> personalised(const std::string& path) {
    std::set<std::string> out;
    for (const auto& row : sql("SELECT iccid FROM cards WHERE state = 'personalised'", path).rows) out.insert(*row[0]);
    return out;
  }
};

TEST_F(BackupUnderLoad, ABackupTakenMidLoadRestoresEveryCardDoneBeforeIt) {
  ASSERT_NO_FATAL_FAILURE(start_server());
  const auto plan = load_plan(kCards);
  bench::LoadReport load;
  std::thread shop([&] { load = bench::run_load(plan); });

  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (static_cast<long long>(personalised(fixture_.db_path).size()) < kCardsBeforeBackup &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  const std::set<std::string> before = personalised(fixture_.db_path);
  const std::string backup = dir_ + "/ads-backup.db";
  const auto started = std::chrono::steady_clock::now();
  const auto backed_up = adsctl({"backup", backup}, fixture_.db_path);
  const double backup_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const std::size_t done_after_backup = personalised(fixture_.db_path).size();
  shop.join();

  ASSERT_EQ(load.cards_ok, kCards) << (load.first_errors.empty() ? "" : load.first_errors[0]);
  ASSERT_EQ(backed_up.exit_code, 0) << backed_up.out << testing::read_text_file(dir_ + "/adsctl.err");
  std::cout << "backup in " << backup_seconds << " s with " << before.size() << " cards done before it and "
            << done_after_backup << " after it, of " << kCards << "\n"
            << backed_up.out << std::flush;
  EXPECT_GE(before.size(), static_cast<std::size_t>(kCardsBeforeBackup));
  EXPECT_NE(backed_up.out.find("backup       " + backup), std::string::npos) << backed_up.out;
  EXPECT_NE(backed_up.out.find("master key   not in the backup"), std::string::npos) << backed_up.out;
  const auto audited = sql("SELECT count(*) FROM audit_log WHERE event = 'database_backed_up'", fixture_.db_path);
  ASSERT_FALSE(audited.rows.empty()) << audited.error;
  EXPECT_EQ(audited.rows[0][0].value_or(""), "1");

  // The server still runs on the live database: restoring over it is refused.
  const auto over_live = adsctl({"restore", backup}, fixture_.db_path);
  EXPECT_EQ(over_live.exit_code, 2);
  EXPECT_NE(testing::read_text_file(dir_ + "/adsctl.err").find("stop ads-server first"), std::string::npos);
  EXPECT_EQ(personalised(fixture_.db_path).size(), kCards);

  // Health of the live database: healthy with limits it meets, a warning (exit 2) with one it does not.
  const auto healthy =
      adsctl({"status", "--min-blank", "0", "--min-numbers", "0", "--max-hlr-waiting", "100000"}, fixture_.db_path);
  EXPECT_EQ(healthy.exit_code, 0) << healthy.out;
  EXPECT_NE(healthy.out.find("audit        intact ("), std::string::npos) << healthy.out;
  EXPECT_NE(healthy.out.find("result       healthy"), std::string::npos) << healthy.out;
  const auto low_stock = adsctl({"status", "--min-blank", "1000000", "--min-numbers", "0", "--max-hlr-waiting",
                                 "100000"},
                                fixture_.db_path);
  EXPECT_EQ(low_stock.exit_code, 2) << low_stock.out;
  EXPECT_NE(low_stock.out.find("below --min-blank 1000000"), std::string::npos) << low_stock.out;
  EXPECT_NE(low_stock.out.find("result       WARNING (stock)"), std::string::npos) << low_stock.out;

  // Restored to a new path: sound, its chain verifies, every card done before the backup is in it.
  const std::string restored = dir_ + "/restored.db";
  const auto restore = adsctl({"restore", backup}, restored);
  ASSERT_EQ(restore.exit_code, 0) << restore.out << testing::read_text_file(dir_ + "/adsctl.err");
  std::cout << restore.out << std::flush;
  EXPECT_NE(restore.out.find("audit        intact ("), std::string::npos) << restore.out;
  const auto integrity = sql("PRAGMA integrity_check", restored);
  ASSERT_TRUE(integrity.error.empty()) << integrity.error;
  ASSERT_FALSE(integrity.rows.empty());
  EXPECT_EQ(integrity.rows[0][0].value_or(""), "ok");
  const auto verify = adsctl({"audit", "verify"}, restored);
  EXPECT_EQ(verify.exit_code, 0) << verify.out;
  const auto in_backup = personalised(restored);
  std::size_t missing = 0;
  for (const auto& iccid : before) missing += in_backup.count(iccid) == 0 ? 1 : 0;
  EXPECT_EQ(missing, 0u) << missing << " of " << before.size() << " cards personalised before the backup are missing";
  EXPECT_LE(in_backup.size(), done_after_backup);

  // The server killed (its last commits may be in the -wal only), then the backup restored over its
  // database: the database kept aside holds every card, WAL folded in; the restored one the backup's.
  ::kill(server_->pid(), SIGKILL);
  server_.reset();
  const auto over_stopped = adsctl({"restore", backup}, fixture_.db_path);
  ASSERT_EQ(over_stopped.exit_code, 0) << over_stopped.out << testing::read_text_file(dir_ + "/adsctl.err");
  const auto kept_at = over_stopped.out.find("kept as ");
  ASSERT_NE(kept_at, std::string::npos) << over_stopped.out;
  const std::string kept = over_stopped.out.substr(kept_at + 8, over_stopped.out.find('\n', kept_at) - kept_at - 8);
  for (const char* suffix : {"-wal", "-shm"}) EXPECT_FALSE(std::filesystem::exists(kept + suffix)) << suffix;
  EXPECT_EQ(personalised(kept).size(), kCards);
  EXPECT_EQ(sql("PRAGMA integrity_check", kept).rows.at(0).at(0).value_or(""), "ok");
  EXPECT_EQ(personalised(fixture_.db_path), in_backup);
  EXPECT_EQ(adsctl({"audit", "verify"}, kept).exit_code, 0);
  EXPECT_EQ(adsctl({"audit", "verify"}, fixture_.db_path).exit_code, 0);
}

}  // namespace
}  // namespace cardperso::crash
