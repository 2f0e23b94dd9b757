// Several daemons on one PostgreSQL database, at the store level: each test opens a second (and
// third) connection — what a second ads-server process has — next to the fixture's, and has them
// work at once from threads. Only run on PostgreSQL (label integration, the cluster fixture).
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "cardperso/ads/store/session_store.hpp"
#include "stock_fixture.hpp"

namespace cardperso::ads::test {
namespace {

// A second daemon: its own connection and stores on the same database.
struct OtherDaemon {
  explicit OtherDaemon(const std::string& url, const MasterKey& k)
      : db(must(open_ads_database(url, OpenMode::MustExist))),
        audit(db, k),
        stock(db, k, audit, "other"),
        pools(db, audit, "other"),
        records(db, k, audit, "other") {}
  Database db;
  AuditLog audit;
  CardStock stock;
  NumberPools pools;
  CardRecords records;
};

// Writes as a daemon makes them: in group mode, where the writer lock is shared, so two daemons'
// groups run at once, ordered only by row locks and the audit chain's lock. A group is committed
// after every `per_group` calls (a daemon's groups hold several sessions' calls).
class Grouped : public TransactionGroupListener {
 public:
  Grouped(Database& db, int per_group) : db_(db), per_group_(per_group) { db_.set_group(this); }
  ~Grouped() {
    if (!db_.commit_group()) ++failed_commits;
    db_.set_group(nullptr);
  }
  Grouped(const Grouped&) = delete;
  Grouped& operator=(const Grouped&) = delete;
  void on_group_opened() override {}
  template <class F>
  auto call(F&& f) {
    auto r = f();
    if (++calls_ % per_group_ == 0 && !db_.commit_group()) ++failed_commits;
    return r;
  }
  int failed_commits = 0;

 private:
  Database& db_;
  int per_group_;
  int calls_ = 0;
};

// A closed connection's backend releases its locks a moment after the client has gone, as a killed
// daemon's does: what follows a daemon's end is asked again for up to 5 s.
template <class Check>
bool within_5s(Check check) {
  for (int i = 0; i < 100; ++i) {
    if (check()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return check();
}

class PostgresDaemonsTest : public StockTest {
 protected:
  void SetUp() override {
    ASSERT_FALSE(postgres_base_url().empty()) << "these tests need CARDPERSO_TEST_PG (the cluster fixture)";
    StockTest::SetUp();
  }
};

TEST_F(PostgresDaemonsTest, EachConnectionHasItsOwnIdentity) {
  OtherDaemon other(db_path, key);
  EXPECT_NE(db->instance(), 0);
  EXPECT_NE(other.db.instance(), 0);
  EXPECT_NE(db->instance(), other.db.instance());
  EXPECT_EQ(db->backend(), Backend::Postgres);
}

TEST_F(PostgresDaemonsTest, TwoDaemonsAppendingAtOnceMakeOneChainWithoutForks) {
  constexpr int kEach = 150;
  std::atomic<int> failures{0};
  auto append = [&](Database& d, AuditLog& log, const std::string& who) {
    int failed_commits = 0;
    {
      Grouped group(d, 3);
      for (int i = 0; i < kEach; ++i) {
        auto r = group.call(
            [&] { return d.with_transaction([&] { return log.append(who, "test_event", std::to_string(i), "x"); }); });
        if (!r) ++failures;
      }
      failed_commits = group.failed_commits;
    }
    failures += failed_commits;
  };
  const auto before = must(audit->verify()).entries_checked;
  OtherDaemon other(db_path, key);
  std::thread a([&] { append(*db, *audit, "a"); });
  std::thread b([&] { append(other.db, other.audit, "b"); });
  a.join();
  b.join();
  EXPECT_EQ(failures.load(), 0);
  const auto v = must(audit->verify());
  EXPECT_TRUE(v.intact()) << v.problem;
  EXPECT_EQ(v.entries_checked, before + 2 * kEach);
  EXPECT_EQ(raw_int(db_path, "SELECT count(DISTINCT seq) FROM audit_log"), before + 2 * kEach);
}

TEST_F(PostgresDaemonsTest, NumbersAllocatedByTwoDaemonsAtOnceAreNeverOnTwoCardsAndNoneIsLost) {
  const auto iccids = secret_batch_for_a(120);
  add_pools();
  OtherDaemon other(db_path, key);
  std::atomic<int> failures{0};
  auto reserve = [&](Database& d, CardStock& s, CardRecords& r, std::size_t from) {
    Grouped group(d, 4);
    for (std::size_t i = from; i < iccids.size(); i += 2) {
      if (!group.call([&] { return s.begin_personalisation(iccids[i], CardPurpose::NewCard); })) ++failures;
      if (!group.call([&] { return r.reserve_numbers(iccids[i]); })) ++failures;
    }
  };
  std::thread a([&] { reserve(*db, *stock, *records, 0); });
  std::thread b([&] { reserve(other.db, other.stock, other.records, 1); });
  a.join();
  b.join();
  EXPECT_EQ(failures.load(), 0);
  // 120 cards, one IMSI and one MSISDN each, all different; every number the pools handed out (in
  // blocks of 16) has its row, and those not on a card are released, fewer than a block per daemon.
  EXPECT_EQ(raw_int(db_path, "SELECT count(*) FROM number_allocations WHERE state = 'reserved'"), 240);
  EXPECT_EQ(raw_int(db_path, "SELECT count(DISTINCT iccid) FROM number_allocations WHERE kind = 'imsi'"), 120);
  EXPECT_EQ(raw_int(db_path, "SELECT count(DISTINCT iccid) FROM number_allocations WHERE kind = 'msisdn'"), 120);
  EXPECT_EQ(raw_int(db_path, "SELECT sum(next - first) FROM number_pools"),
            raw_int(db_path, "SELECT count(*) FROM number_allocations"));
  EXPECT_LT(raw_int(db_path, "SELECT count(*) FROM number_allocations WHERE state = 'released'"), 2 * 2 * 16);
  EXPECT_TRUE(must(audit->verify()).intact());
}

// Both daemons try to start every card at once: each card is started once, by one of them (its row
// is locked while its state is read and changed: Database::row_lock_sql).
TEST_F(PostgresDaemonsTest, ACardStartedByTwoDaemonsAtOnceIsStartedOnce) {
  const auto iccids = secret_batch_for_a(60);
  OtherDaemon other(db_path, key);
  std::atomic<int> started{0};
  std::atomic<int> refused{0};
  std::atomic<int> failed_commits{0};
  auto start = [&](Database& d, CardStock& s) {
    int failed = 0;
    {
      Grouped group(d, 3);
      for (const auto& iccid : iccids) {
        auto r = group.call([&] { return s.begin_personalisation(iccid, CardPurpose::NewCard); });
        if (r) {
          ++started;
        } else if (r.error().message.find("only a blank or failed card") != std::string::npos) {
          ++refused;
        } else {
          ADD_FAILURE() << r.error().message;
        }
      }
      failed = group.failed_commits;
    }
    failed_commits += failed;
  };
  std::thread a([&] { start(*db, *stock); });
  std::thread b([&] { start(other.db, other.stock); });
  a.join();
  b.join();
  EXPECT_EQ(failed_commits.load(), 0);
  EXPECT_EQ(started.load(), 60);
  EXPECT_EQ(refused.load(), 60);
  EXPECT_EQ(raw_int(db_path, "SELECT count(*) FROM cards WHERE state = 'in_progress' AND attempts = 1"), 60);
  EXPECT_EQ(raw_int(db_path, "SELECT count(*) FROM audit_log WHERE event = 'card_personalisation_started'"), 60);
  EXPECT_TRUE(must(audit->verify()).intact());
}

TEST_F(PostgresDaemonsTest, ACardInProgressOnALiveDaemonIsLeftAloneAndTakenBackOnceItIsGone) {
  const auto iccids = secret_batch_for_a(2);
  add_pools();
  auto other = std::make_unique<OtherDaemon>(db_path, key);
  must(other->stock.begin_personalisation(iccids[0], CardPurpose::NewCard));
  const auto numbers = must(other->records.reserve_numbers(iccids[0]));

  // The other daemon runs: its card is not ours to fail, not even at our start.
  EXPECT_EQ(must(stock->fail_interrupted()), 0);
  auto seen = must(stock->inspect_card_for(kRetailerA, iccids[0], CardPurpose::NewCard));
  EXPECT_EQ(seen.refusal, CardRefusal::InProgress) << seen.message;

  // It dies (its connection closes as a killed process's does): the card is failed, not counted
  // against it, keeps its numbers, and opens for the retry on this daemon.
  other.reset();
  EXPECT_TRUE(within_5s([&] {
    seen = must(stock->inspect_card_for(kRetailerA, iccids[0], CardPurpose::NewCard));
    return seen.refusal == CardRefusal::None;
  })) << seen.message;
  EXPECT_EQ(seen.opening.state, CardState::Failed);
  const auto card = must(stock->find_card(iccids[0]));
  ASSERT_TRUE(card);
  EXPECT_EQ(card->failures, 0);
  EXPECT_EQ(card->failure_reason, "its ADS daemon stopped");
  must(stock->begin_personalisation(iccids[0], CardPurpose::NewCard));
  const auto again = must(records->reserve_numbers(iccids[0]));
  EXPECT_EQ(again.imsi, numbers.imsi);
  EXPECT_EQ(again.msisdn, numbers.msisdn);
}

TEST_F(PostgresDaemonsTest, SessionsOfALiveDaemonStayOpenThoseOfAGoneOneAreClosed) {
  auto other = std::make_unique<OtherDaemon>(db_path, key);
  SessionStore theirs(other->db);
  SessionStore ours(*db);
  const auto id = must(theirs.open(kRetailerA, "192.0.2.1:4000"));
  EXPECT_EQ(must(ours.close_dangling()), 0);
  other.reset();
  EXPECT_TRUE(within_5s([&] { return must(ours.close_dangling()) == 1; }));
  const auto recent = must(ours.recent(5));
  ASSERT_FALSE(recent.empty());
  EXPECT_EQ(recent.front().id, id);
}

TEST_F(PostgresDaemonsTest, ARoleIsHeldByOneDaemonAtATimeAndPassesOnWhenItGoes) {
  auto other = std::make_unique<OtherDaemon>(db_path, key);
  EXPECT_TRUE(must(other->db.hold_role("hlr-outbox")));
  EXPECT_TRUE(must(other->db.hold_role("hlr-outbox")));  // still its own
  EXPECT_FALSE(must(db->hold_role("hlr-outbox")));
  EXPECT_TRUE(must(db->hold_role("another-role")));
  other.reset();
  EXPECT_TRUE(within_5s([&] { return must(db->hold_role("hlr-outbox")); }));
}

TEST_F(PostgresDaemonsTest, AConnectionTheServerDropsIsReestablishedWithItsIdentity) {
  OtherDaemon other(db_path, key);
  const auto pid = raw_int(db_path, "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> "
                                    "pg_backend_pid() ORDER BY backend_start DESC LIMIT 1");
  ASSERT_EQ(raw_exec(db_path, "SELECT pg_terminate_backend(" + std::to_string(pid) + ")"), "");
  // The statement that finds the connection gone fails; the next one runs on a new connection.
  (void)other.stock.list_batches();
  EXPECT_TRUE(other.stock.list_batches().ok());
  // Its identity is held again, so its work is not taken for a gone daemon's.
  EXPECT_EQ(raw_int(db_path, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 1 AND "
                             "((classid::bigint << 32) | objid::bigint) = " + std::to_string(other.db.instance())),
            1);
}

TEST_F(PostgresDaemonsTest, AStatementThatFailedInsideATransactionFailsItsCommit) {
  // SQLite lets a transaction go on after a failed statement; PostgreSQL rolls it all back, and the
  // store must say so rather than report success.
  auto r = db->with_transaction([&]() -> Result<void> {
    (void)db->run("INSERT INTO no_such_table VALUES (1)", "a statement that fails");
    return {};
  });
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("rolled it back"), std::string::npos) << r.error().message;
}

// A conflict with another daemon's transaction is reported by PostgreSQL with a SQLSTATE of class 40;
// the transaction runs again, a bounded number of times. Raised here on purpose, with that SQLSTATE.
constexpr const char* kRaiseSerializationFailure =
    "DO $$ BEGIN RAISE EXCEPTION 'conflict (test)' USING ERRCODE = 'serialization_failure'; END $$";

TEST_F(PostgresDaemonsTest, ATransactionThatConflictedRunsAgain) {
  int runs = 0;
  auto r = db->with_transaction([&]() -> Result<void> {
    ++runs;
    if (runs == 1) {
      if (auto raised = db->exec(kRaiseSerializationFailure, "a conflicting step"); !raised) return raised.error();
    }
    return audit->append("tester", "test_event", "retry", "x");
  });
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(runs, 2);
  EXPECT_EQ(raw_int(db_path, "SELECT count(*) FROM audit_log WHERE subject = 'retry'"), 1);
  EXPECT_TRUE(must(audit->verify()).intact());
}

TEST_F(PostgresDaemonsTest, ATransactionThatKeepsConflictingGivesUpAfterTheBound) {
  int runs = 0;
  auto r = db->with_transaction([&]() -> Result<void> {
    ++runs;
    return db->exec(kRaiseSerializationFailure, "a conflicting step");
  });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(runs, kMaxTransactionAttempts);
  EXPECT_NE(r.error().message.find("SQLSTATE 40001"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("try again"), std::string::npos) << r.error().message;
}

TEST_F(PostgresDaemonsTest, OtherErrorsAreNotRunAgain) {
  int runs = 0;
  auto r = db->with_transaction([&]() -> Result<void> {
    ++runs;
    return db->run("INSERT INTO retailers (serial) VALUES ('1')", "an insert that breaks a constraint");
  });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(runs, 1);
}


// Group mode on PostgreSQL: a call's SAVEPOINT (and the previous call's RELEASE) go out pipelined
// with the call's first statement. What that must not change: a failed call undoes only itself, a
// call that ran no statement costs nothing, and a statement that failed outside any call is never
// followed by a ROLLBACK TO that would undo the previous call.
struct GroupListener : TransactionGroupListener {
  int opened = 0;
  void on_group_opened() override { ++opened; }
};

Result<void> insert_name(Database& d, const std::string& name) {
  return d.run("INSERT INTO group_test (name) VALUES (?1)", "insert " + name, name);
}

TEST_F(PostgresDaemonsTest, InAGroupAFailedCallUndoesOnlyItselfAndAnEmptyCallCostsNothing) {
  must(db->exec("CREATE TABLE group_test (name TEXT NOT NULL UNIQUE)", "create a test table"));
  GroupListener listener;
  db->set_group(&listener);
  must(db->with_transaction([&] { return insert_name(*db, "one"); }));
  must(db->with_transaction([&]() -> Result<void> { return {}; }));  // no statement at all
  auto failed = db->with_transaction([&]() -> Result<void> {
    if (auto r = insert_name(*db, "undone"); !r) return r;
    return insert_name(*db, "one");  // duplicate: the call fails and takes "undone" with it
  });
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.error().message.find("23505"), std::string::npos) << failed.error().message;
  auto failed_first = db->with_transaction([&] { return insert_name(*db, "one"); });  // fails on its first statement
  ASSERT_FALSE(failed_first.ok());
  must(db->with_transaction([&]() -> Result<void> { return {}; }));
  must(db->with_transaction([&] { return insert_name(*db, "two"); }));
  EXPECT_EQ(raw_int(db_path, "SELECT count(*) FROM group_test"), 0);  // nothing committed yet
  must(db->commit_group());
  db->set_group(nullptr);
  EXPECT_EQ(listener.opened, 1);
  EXPECT_EQ(raw_int(db_path, "SELECT count(*) FROM group_test"), 2);
  EXPECT_EQ(raw_int(db_path, "SELECT count(*) FROM group_test WHERE name IN ('one', 'two')"), 2);
}

TEST_F(PostgresDaemonsTest, InAGroupAStatementThatFailedOutsideACallFailsTheNextCallAndTheCommit) {
  must(db->exec("CREATE TABLE group_test (name TEXT NOT NULL UNIQUE)", "create a test table"));
  GroupListener listener;
  db->set_group(&listener);
  must(db->with_transaction([&] { return insert_name(*db, "one"); }));
  ASSERT_FALSE(db->run("INSERT INTO no_such_table VALUES (1)", "a statement outside any call").ok());
  auto next = db->with_transaction([&] { return insert_name(*db, "two"); });
  ASSERT_FALSE(next.ok());
  EXPECT_NE(next.error().message.find("retry it"), std::string::npos) << next.error().message;
  auto committed = db->commit_group();
  db->set_group(nullptr);
  ASSERT_FALSE(committed.ok());  // said, not silently committed without "one"
  EXPECT_NE(committed.error().message.find("rolled"), std::string::npos) << committed.error().message;
  EXPECT_EQ(raw_int(db_path, "SELECT count(*) FROM group_test"), 0);
}

TEST(PostgresUrlTest, APasswordNeverAppearsInAMessage) {
  const auto base = postgres_base_url();
  ASSERT_FALSE(base.empty());
  auto r = Database::open("postgresql://ads:s3cr3t-pw@127.0.0.1:1/ads", OpenMode::MustExist);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message.find("s3cr3t-pw"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("postgresql://ads:***@127.0.0.1:1/ads"), std::string::npos) << r.error().message;
  auto q = Database::open("postgresql://127.0.0.1:1/ads?user=ads&password=s3cr3t-pw&sslmode=disable", OpenMode::MustExist);
  ASSERT_FALSE(q.ok());
  EXPECT_EQ(q.error().message.find("s3cr3t-pw"), std::string::npos) << q.error().message;
}

TEST(PostgresUrlTest, AnEmptyDatabaseIsNotAnAdsAndAnAdsIsNotOverwritten) {
  const auto base = postgres_base_url();
  ASSERT_FALSE(base.empty());
  PgTestDatabase empty(base);
  auto r = Database::open(empty.url(), OpenMode::MustExist);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("adsctl init"), std::string::npos) << r.error().message;
  { auto made = must(open_ads_database(empty.url(), OpenMode::CreateNew)); }
  auto again = Database::open(empty.url(), OpenMode::CreateNew);
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().message.find("already holds an ADS"), std::string::npos) << again.error().message;
}

}  // namespace
}  // namespace cardperso::ads::test
