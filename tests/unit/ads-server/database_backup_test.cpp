// Backup and restore of the ADS database (database_backup.hpp) on real SQLite files: a backup equals its
// source, a damaged source is refused, and restore refuses every backup it cannot trust and every
// target still open somewhere, leaving the target untouched.
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "cardperso/ads/store/database_backup.hpp"
#include "cardperso/ads/store/key_check.hpp"
#include "stock_fixture.hpp"

namespace cardperso::ads::test {
namespace {

class BackupTest : public StockTest {
 protected:
  void SetUp() override {
    StockTest::SetUp();
    // As `adsctl init` binds it: restore checks the backup's key against it.
    must(db->with_transaction([&] { return bind_master_key(*db, key); }));
    iccids = secret_batch_for_a(5);
    add_pools();
    must(records->record_personalisation(begun(iccids[0])));
    must(records->record_personalisation(begun(iccids[1])));
  }

  std::int64_t count(const std::string& path, const std::string& table) {
    return raw_int(path, "SELECT count(*) FROM " + table);
  }
  // Closes the fixture's connection, so the source can be restored over or damaged.
  void close_source() {
    records.reset();
    pools.reset();
    stock.reset();
    retailers.reset();
    audit.reset();
    db.reset();
  }
  BackupReport backup_to(const std::string& name) { return must(backup_database(*db, dir.file(name))); }

  std::vector<std::string> iccids;
};

bool exists(const std::string& path) { return std::filesystem::exists(std::filesystem::symlink_status(path)); }

// Garbage over the first page of a table (the schema stays good, so the database opens).
void damage_table(const std::string& path, const std::string& table) {
  const auto page = raw_int(path, "SELECT rootpage FROM sqlite_schema WHERE name = '" + table + "'");
  const auto page_size = raw_int(path, "PRAGMA page_size");
  ASSERT_GT(page, 1);
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(static_cast<std::streamoff>((page - 1) * page_size + 8));
  const std::string junk(static_cast<std::size_t>(page_size / 2), '\xA5');
  f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  ASSERT_TRUE(f.good());
}

AuditVerification verify(const std::string& path, const MasterKey& key) {
  auto db = must(Database::open(path, OpenMode::MustExist));
  AuditLog audit(db, key);
  return must(audit.verify());
}

TEST_F(BackupTest, ABackupHoldsWhatTheSourceHolds) {
  const auto report = backup_to("backup.db");
  const std::string copy = dir.file("backup.db");
  EXPECT_EQ(report.path, copy);
  EXPECT_EQ(report.schema_version, latest_schema_version());
  EXPECT_EQ(report.cards, 5);
  EXPECT_GT(report.pages, 10);
  EXPECT_EQ(report.bytes, static_cast<std::int64_t>(std::filesystem::file_size(copy)));
  EXPECT_EQ(report.audit_entries, count(db_path, "audit_log"));
  EXPECT_EQ(file_mode(copy), 0600u);
  // One self-contained file: nothing beside it.
  for (const char* suffix : {".tmp", "-wal", "-shm", "-journal"}) EXPECT_FALSE(exists(copy + suffix)) << suffix;
  for (const char* table : {"cards", "card_records", "number_allocations", "subscribers", "audit_log", "retailers"}) {
    EXPECT_EQ(count(copy, table), count(db_path, table)) << table;
  }
  EXPECT_EQ(raw_int(copy, "PRAGMA user_version"), latest_schema_version());
  const auto verified = verify(copy, key);
  EXPECT_TRUE(verified.intact()) << verified.problem;
  EXPECT_EQ(verified.entries_checked, report.audit_entries);
}

// Many steps of 256 pages while another connection commits all along: one snapshot, never restarted.
TEST_F(BackupTest, ABackupWhileAnotherConnectionWritesIsOneSnapshot) {
  ASSERT_EQ(raw_exec(db_path, "CREATE TABLE filler (x BLOB NOT NULL); "
                              "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000) "
                              "INSERT INTO filler SELECT randomblob(3000) FROM n"),
            "");
  std::atomic<bool> stop{false};
  std::atomic<int> commits{0};
  std::thread writer([&] {
    sqlite3* other = nullptr;
    if (sqlite3_open(db_path.c_str(), &other) != SQLITE_OK) return;
    sqlite3_busy_timeout(other, 5000);
    while (!stop) {
      if (sqlite3_exec(other, "INSERT INTO filler VALUES (randomblob(3000))", nullptr, nullptr, nullptr) == SQLITE_OK)
        ++commits;
    }
    sqlite3_close(other);
  });
  while (commits < 5) std::this_thread::yield();
  const auto rows_before = count(db_path, "filler");
  const int commits_before = commits;
  const auto report = backup_database(*db, dir.file("backup.db"));
  const int commits_during = commits - commits_before;
  stop = true;
  writer.join();
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_GT(report->pages, 4 * 256);
  const auto rows_in_backup = count(dir.file("backup.db"), "filler");
  EXPECT_GE(rows_in_backup, rows_before);
  EXPECT_LT(rows_in_backup, count(db_path, "filler")) << commits_during << " commits during the backup";
  EXPECT_EQ(raw_int(dir.file("backup.db"), "SELECT count(*) FROM pragma_integrity_check WHERE integrity_check = 'ok'"),
            1);
  EXPECT_TRUE(verify(dir.file("backup.db"), key).intact());
}

TEST_F(BackupTest, AnExistingDestinationIsNeverOverwritten) {
  write_file(dir.file("taken.db"), "someone's file", 0600);
  auto r = backup_database(*db, dir.file("taken.db"));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("already exists"), std::string::npos) << r.error().message;
  EXPECT_EQ(read_file(dir.file("taken.db")), Bytes({'s', 'o', 'm', 'e', 'o', 'n', 'e', '\'', 's', ' ', 'f', 'i', 'l',
                                                     'e'}));
  EXPECT_FALSE(exists(dir.file("taken.db.tmp")));
}

TEST_F(BackupTest, ADamagedSourceIsRefusedAndLeavesNothing) {
  close_source();
  damage_table(db_path, "cards");
  auto damaged = must(Database::open(db_path, OpenMode::MustExist));
  auto r = backup_database(damaged, dir.file("backup.db"));
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().message.find("damaged") != std::string::npos ||
              r.error().message.find("malformed") != std::string::npos)
      << r.error().message;
  for (const char* suffix : {"", ".tmp", ".tmp-journal", ".tmp-wal"}) {
    EXPECT_FALSE(exists(dir.file("backup.db") + suffix)) << suffix;
  }
}

TEST_F(BackupTest, ARestoreReplacesTheDatabaseAndKeepsThePreviousOne) {
  backup_to("backup.db");
  const auto backed_up_entries = count(db_path, "audit_log");
  // Changes after the backup: gone once it is restored, kept in the previous database.
  must(records->record_personalisation(begun(iccids[2])));
  const auto later_entries = count(db_path, "audit_log");
  close_source();

  const auto report = must(restore_database(dir.file("backup.db"), db_path, key, "tester"));
  EXPECT_EQ(report.audit_entries, backed_up_entries);
  EXPECT_EQ(report.cards, 5);
  EXPECT_EQ(report.schema_version, latest_schema_version());
  ASSERT_FALSE(report.kept_as.empty());
  EXPECT_NE(report.kept_as.find(db_path + ".before-restore-"), std::string::npos);
  EXPECT_EQ(count(report.kept_as, "audit_log"), later_entries);
  EXPECT_EQ(raw_int(report.kept_as, "SELECT count(*) FROM cards WHERE state = 'personalised'"), 3);
  EXPECT_EQ(raw_int(db_path, "SELECT count(*) FROM cards WHERE state = 'personalised'"), 2);
  EXPECT_EQ(file_mode(db_path), 0600u);
  EXPECT_FALSE(exists(db_path + ".tmp"));
  const auto verified = verify(db_path, key);
  EXPECT_TRUE(verified.intact()) << verified.problem;
  EXPECT_EQ(verified.entries_checked, backed_up_entries + 1);
  auto restored = must(open_ads_database(db_path, OpenMode::MustExist));
  AuditLog restored_audit(restored, key);
  const auto last = must(restored_audit.last(1));
  ASSERT_EQ(last.size(), 1u);
  EXPECT_EQ(last[0].event, "database_restored");
  EXPECT_EQ(last[0].subject, dir.file("backup.db"));
  EXPECT_EQ(last[0].detail, "audit_entries=" + std::to_string(backed_up_entries) +
                                " schema=" + std::to_string(latest_schema_version()));
}

TEST_F(BackupTest, ARestoreToANewPathNeedsNoPreviousDatabase) {
  backup_to("backup.db");
  const auto report = must(restore_database(dir.file("backup.db"), dir.file("new.db"), key, "tester"));
  EXPECT_TRUE(report.kept_as.empty());
  EXPECT_EQ(count(dir.file("new.db"), "cards"), 5);
  EXPECT_TRUE(verify(dir.file("new.db"), key).intact());
}

class RestoreRefusal : public BackupTest {
 protected:
  void SetUp() override {
    BackupTest::SetUp();
    backup_to("backup.db");
    backup = dir.file("backup.db");
    target = dir.file("target.db");
    must(restore_database(backup, target, key, "tester"));
    target_entries = count(target, "audit_log");
  }
  // The refusal says `expected`; the target and its directory are as they were.
  void expect_refused(const Result<RestoreReport>& r, const std::string& expected, const MasterKey& key_of_target) {
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find(expected), std::string::npos) << r.error().message;
    EXPECT_FALSE(exists(target + ".tmp"));
    EXPECT_EQ(count(target, "audit_log"), target_entries);
    EXPECT_TRUE(verify(target, key_of_target).intact());
    std::size_t kept = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
      if (e.path().string().find(".before-restore-") != std::string::npos) ++kept;
    }
    EXPECT_EQ(kept, 0u);
  }

  std::string backup, target;
  std::int64_t target_entries = 0;
};

TEST_F(RestoreRefusal, ABackupWhoseAuditChainIsBroken) {
  ASSERT_EQ(raw_exec(backup, "DROP TRIGGER audit_log_no_update; UPDATE audit_log SET detail = 'edited' WHERE seq = 2"),
            "");
  expect_refused(restore_database(backup, target, key, "tester"), "audit chain", key);
}

TEST_F(RestoreRefusal, ABackupOfAnotherMasterKey) {
  const auto other = MasterKey::from_bytes(hex("00112233445566778899aabbccddeeff"));
  expect_refused(restore_database(backup, target, other, "tester"), "master key", key);
}

TEST_F(RestoreRefusal, ABackupOfANewerSchema) {
  ASSERT_EQ(raw_exec(backup, "PRAGMA user_version = " + std::to_string(latest_schema_version() + 1)), "");
  expect_refused(restore_database(backup, target, key, "tester"), "newer than this adsctl", key);
}

TEST_F(RestoreRefusal, ADamagedBackup) {
  damage_table(backup, "cards");
  expect_refused(restore_database(backup, target, key, "tester"), "damaged", key);
}

TEST_F(RestoreRefusal, ATargetOpenInThisProcess) {
  auto user = must(Database::open(target, OpenMode::MustExist));  // idle, as a server between sessions
  expect_refused(restore_database(backup, target, key, "tester"), "stop ads-server first", key);
}

TEST_F(RestoreRefusal, ATargetInATransactionOfAnotherConnection) {
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(target.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE; INSERT INTO ads_meta (name, value) VALUES ('x', x'00');", nullptr,
                         nullptr, nullptr),
            SQLITE_OK);
  auto r = restore_database(backup, target, key, "tester");
  sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(other);
  expect_refused(r, "stop ads-server first", key);
}

TEST_F(RestoreRefusal, ATargetOpenInAnotherProcess) {
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // Like a server: opened, read once, then idle.
    sqlite3* reader = nullptr;
    if (sqlite3_open(target.c_str(), &reader) != SQLITE_OK ||
        sqlite3_exec(reader, "SELECT count(*) FROM cards", nullptr, nullptr, nullptr) != SQLITE_OK)
      ::_exit(1);
    (void)!::write(ready[1], "r", 1);
    for (;;) ::pause();
  }
  ::close(ready[1]);
  char byte = 0;
  ASSERT_EQ(::read(ready[0], &byte, 1), 1);
  ::close(ready[0]);
  EXPECT_FALSE(check_not_in_use(target));
  auto r = restore_database(backup, target, key, "tester");
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  expect_refused(r, "stop ads-server first", key);
  // Once nobody holds it, the same restore goes through.
  EXPECT_TRUE(check_not_in_use(target));
  EXPECT_TRUE(restore_database(backup, target, key, "tester"));
}

}  // namespace
}  // namespace cardperso::ads::test
