#include "cardperso/ads/store/audit_log.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

#include "cardperso/ads/store/migrations.hpp"
#include "cardperso/common/crypto.hpp"
#include "database_fixture.hpp"

namespace cardperso::ads {
namespace {

using test::must;

class AuditLogTest : public test::DatabaseTest {
 protected:
  void SetUp() override {
    DatabaseTest::SetUp();
    log.emplace(*db, key, clock());
  }
  void append_n(int n) {
    for (int i = 1; i <= n; ++i) {
      must(db->with_transaction([&]() -> Result<void> {
        return log->append("tester", "event_" + std::to_string(i), "subject", "detail " + std::to_string(i));
      }));
      now += std::chrono::seconds(1);
    }
  }
  std::optional<AuditLog> log;
};

TEST_F(AuditLogTest, AppendOutsideATransactionIsAProgrammerError) {
  EXPECT_THROW((void)log->append("a", "b", "c", "d"), std::logic_error);
}

TEST_F(AuditLogTest, EntriesChainAndVerify) {
  append_n(5);
  auto report = must(log->verify());
  EXPECT_TRUE(report.intact()) << report.problem;
  EXPECT_EQ(report.entries_checked, 5);
  // Each prev_hash is the previous hash; the first links to zeros.
  EXPECT_EQ(to_hex(test::raw_blob(db_path, "SELECT prev_hash FROM audit_log WHERE seq = 1")), std::string(64, '0'));
  for (int seq = 2; seq <= 5; ++seq) {
    EXPECT_EQ(to_hex(test::raw_blob(db_path, "SELECT prev_hash FROM audit_log WHERE seq = " + std::to_string(seq))),
              to_hex(test::raw_blob(db_path, "SELECT hash FROM audit_log WHERE seq = " + std::to_string(seq - 1))));
  }
  auto last = must(log->last(2));
  ASSERT_EQ(last.size(), 2u);
  EXPECT_EQ(last[0].seq, 4);
  EXPECT_EQ(last[1].seq, 5);
  EXPECT_EQ(last[1].event, "event_5");
  EXPECT_EQ(last[1].detail, "detail 5");
  EXPECT_EQ(to_unix(last[1].at), 1700000004);
}

TEST_F(AuditLogTest, EmptyLogVerifies) {
  auto report = must(log->verify());
  EXPECT_TRUE(report.intact());
  EXPECT_EQ(report.entries_checked, 0);
}

TEST_F(AuditLogTest, TriggersRefuseUpdateAndDelete) {
  append_n(2);
  EXPECT_NE(test::raw_exec(db_path, "UPDATE audit_log SET detail = 'x' WHERE seq = 1").find("append-only"),
            std::string::npos);
  EXPECT_NE(test::raw_exec(db_path, "DELETE FROM audit_log WHERE seq = 2").find("append-only"), std::string::npos);
  EXPECT_TRUE(must(log->verify()).intact());
}

TEST_F(AuditLogTest, EditBehindTheTriggersBackIsDetected) {
  append_n(4);
  ASSERT_EQ(test::raw_exec(db_path, "DROP TRIGGER audit_log_no_update; UPDATE audit_log SET detail = 'nothing happened' "
                                    "WHERE seq = 3"),
            "");
  auto report = must(log->verify());
  EXPECT_FALSE(report.intact());
  EXPECT_EQ(report.first_broken_seq, 3);
  EXPECT_EQ(report.entries_checked, 2);
  EXPECT_NE(report.problem.find("altered"), std::string::npos) << report.problem;
}

TEST_F(AuditLogTest, RecomputedShaChainWithoutTheKeyIsDetected) {
  append_n(2);
  // An attacker rewrites entry 2 and recomputes its hash as an unkeyed SHA-256 chain would: the
  // chain is keyed from the master key, so this still fails.
  const Bytes prev = test::raw_blob(db_path, "SELECT prev_hash FROM audit_log WHERE seq = 2");
  Bytes input;
  const std::string label = "cardperso/v1/audit";
  input.insert(input.end(), label.begin(), label.end());
  input.insert(input.end(), prev.begin(), prev.end());
  put_u64(input, 2);
  put_u64(input, static_cast<std::uint64_t>(test::raw_int(db_path, "SELECT at FROM audit_log WHERE seq = 2")));
  for (const std::string_view field : {"someone", "event_2", "subject", "detail 2"}) {
    put_u32(input, static_cast<std::uint32_t>(field.size()));
    input.insert(input.end(), field.begin(), field.end());
  }
  const auto forged = crypto::sha256(input);
  ASSERT_EQ(test::raw_exec(db_path, "DROP TRIGGER audit_log_no_update; UPDATE audit_log SET actor = 'someone' WHERE seq = 2"),
            "");
  ASSERT_EQ(test::raw_set_blob(db_path, "UPDATE audit_log SET hash = ?1 WHERE seq = 2", ByteView(forged.data(), forged.size())),
            "");
  auto report = must(log->verify());
  EXPECT_EQ(report.first_broken_seq, 2);
}

TEST_F(AuditLogTest, DeletedEntryIsDetected) {
  append_n(4);
  ASSERT_EQ(test::raw_exec(db_path, "DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE seq = 2"), "");
  auto report = must(log->verify());
  EXPECT_EQ(report.first_broken_seq, 3);
  EXPECT_NE(report.problem.find("entry 2 is missing"), std::string::npos) << report.problem;
}

TEST_F(AuditLogTest, AnotherKeyDoesNotVerify) {
  append_n(1);
  AuditLog other(*db, MasterKey::from_bytes(hex("00000000000000000000000000000001")));
  auto report = must(other.verify());
  EXPECT_EQ(report.first_broken_seq, 1);
}

TEST_F(AuditLogTest, EntryRollsBackWithItsTransaction) {
  auto r = db->with_transaction([&]() -> Result<void> {
    if (auto a = log->append("tester", "doomed", "s", "d"); !a) return a.error();
    return fail("the change it recorded failed");
  });
  ASSERT_FALSE(r);
  EXPECT_TRUE(must(log->last(10)).empty());
}


// Entries wait until their transaction commits to take their places in the chain; a call that rolls
// back must take its own out of those waiting, or they would be written for a change that was undone
// (and the entries after them would chain through them).
TEST_F(AuditLogTest, EntriesOfOneGroupChainThroughACallThatRolledBack) {
  struct Listener : TransactionGroupListener {
    int opened = 0;
    void on_group_opened() override { ++opened; }
  } listener;
  db->set_group(&listener);
  auto append = [&](const std::string& event) { return log->append("tester", event, "s", "d"); };
  must(db->with_transaction([&]() -> Result<void> {
    if (auto a = append("first"); !a) return a.error();
    if (auto b = append("second"); !b) return b.error();
    return {};
  }));
  auto undone = db->with_transaction([&]() -> Result<void> {
    if (auto a = append("undone"); !a) return a.error();
    return fail("the change it recorded failed");
  });
  ASSERT_FALSE(undone);
  must(db->with_transaction([&] { return append("third"); }));
  EXPECT_TRUE(must(log->last(10)).empty()) << "entries are written when their transaction commits";
  must(db->commit_group());
  db->set_group(nullptr);
  EXPECT_EQ(listener.opened, 1);
  // A new transaction reads the head again: it may have moved (another daemon, another connection).
  must(db->with_transaction([&] { return append("fourth"); }));
  const auto entries = must(log->last(10));
  ASSERT_EQ(entries.size(), 4u);
  const std::vector<std::string> events{"first", "second", "third", "fourth"};
  for (std::size_t i = 0; i < entries.size(); ++i) {
    EXPECT_EQ(entries[i].seq, static_cast<std::int64_t>(i + 1));
    EXPECT_EQ(entries[i].event, events[i]);
  }
  const auto v = must(log->verify());
  EXPECT_TRUE(v.intact()) << v.problem;
  EXPECT_EQ(v.entries_checked, 4);
}

}  // namespace
}  // namespace cardperso::ads
