// Group commit on a real SQLite file with a real io_context: what the durability rule depends on.
#include "cardperso/ads/store/group_commit.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <semaphore>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "test_support.hpp"

namespace cardperso::ads {
namespace {

namespace asio = net::asio;
using test::must;

Result<void> insert(Database& db, const std::string& table, const std::string& name) {
  auto s = db.prepare("INSERT INTO " + table + " (name) VALUES (?1)", "insert " + name);
  if (!s) return s.error();
  s->bind(1, name);
  return s->run();
}

Result<void> insert_in_transaction(Database& db, const std::string& name) {
  return db.with_transaction([&]() -> Result<void> { return insert(db, "t", name); });
}

struct WaitOutcome {
  bool woke = false;
  std::optional<Result<void>> durable;
  std::int64_t rows_on_disk_when_woken = -1;
  std::uint64_t commits_when_woken = 0;
};

// One "session": write, then wait for durability as Connection::send does.
asio::awaitable<void> write_then_wait(Database* db, GroupCommit* group, std::string db_path, std::string name,
                                      std::shared_ptr<WaitOutcome> out) {
  const auto mark = group->mark();
  must(insert_in_transaction(*db, name));
  out->durable = co_await group->durable(mark);
  out->woke = true;
  out->rows_on_disk_when_woken = test::raw_int(db_path, "SELECT count(*) FROM t");
  out->commits_when_woken = group->commits();
}

asio::awaitable<void> wait_only(GroupCommit* group, GroupCommit::Mark mark, std::shared_ptr<WaitOutcome> out) {
  out->durable = co_await group->durable(mark);
  out->woke = true;
}

// A flush that the test lets finish one at a time (it runs on the flusher thread).
struct GatedFlush {
  std::atomic<int> started{0};
  std::atomic<int> finished{0};
  std::atomic<bool> fail{false};
  std::counting_semaphore<1000> gate{0};
  Result<void> run() {
    ++started;
    gate.acquire();
    ++finished;
    if (fail) return fail_result();
    return {};
  }
  static Result<void> fail_result() { return cardperso::fail("injected flush failure (EIO)"); }
};

// Runs the io_context's ready handlers until `done` holds; false after 10 s.
template <class Pred>
bool poll_until(asio::io_context& io, Pred done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (;;) {
    io.restart();
    io.poll();
    if (done()) return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

// Keeps polling for a while, so a wrong early wake-up would have had its chance.
void settle(asio::io_context& io) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(50);
  while (std::chrono::steady_clock::now() < until) {
    io.restart();
    io.poll();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

class GroupCommitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_path = dir.file("g.db");
    db.emplace(must(Database::open(db_path, OpenMode::CreateNew)));
    must(db->exec("CREATE TABLE t (name TEXT NOT NULL UNIQUE);"
                  "CREATE TABLE parent (id INTEGER PRIMARY KEY);"
                  "CREATE TABLE child (name TEXT, parent_id INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)",
                  "create test tables"));
    group.emplace(*db, io.get_executor());
  }
  void TearDown() override { group.reset(); }
  std::int64_t rows_on_disk() { return test::raw_int(db_path, "SELECT count(*) FROM t"); }

  test::TempDir dir;
  std::string db_path;
  std::optional<Database> db;
  asio::io_context io;
  std::optional<GroupCommit> group;
};

TEST_F(GroupCommitTest, TwoSessionsWritesGoInOneCommit) {
  must(insert_in_transaction(*db, "session 1"));
  must(insert_in_transaction(*db, "session 2"));
  EXPECT_TRUE(db->group_open());
  EXPECT_EQ(rows_on_disk(), 0);  // another connection sees nothing yet: not committed
  io.run();
  EXPECT_FALSE(db->group_open());
  EXPECT_EQ(group->commits(), 1u);
  EXPECT_EQ(rows_on_disk(), 2);
}

TEST_F(GroupCommitTest, FailedCallDoesNotUndoAnotherSessionsWrites) {
  must(insert_in_transaction(*db, "kept"));
  auto failed = db->with_transaction([&]() -> Result<void> {
    if (auto r = insert(*db, "t", "undone"); !r) return r;
    return insert(*db, "t", "kept");  // duplicate: this call fails and takes "undone" with it
  });
  ASSERT_FALSE(failed);
  EXPECT_NE(failed.error().message.find("UNIQUE"), std::string::npos) << failed.error().message;
  EXPECT_THROW(db->with_transaction([&]() -> Result<void> {
    must(insert(*db, "t", "thrown away"));
    throw std::runtime_error("boom");
  }),
               std::runtime_error);
  must(insert_in_transaction(*db, "also kept"));
  io.run();
  EXPECT_EQ(group->commits(), 1u);
  EXPECT_EQ(group->failures(), 0u);
  EXPECT_EQ(rows_on_disk(), 2);
  EXPECT_EQ(test::raw_int(db_path, "SELECT count(*) FROM t WHERE name IN ('kept', 'also kept')"), 2);
}

TEST_F(GroupCommitTest, DurableWaitsUntilTheCommit) {
  auto a = std::make_shared<WaitOutcome>();
  auto b = std::make_shared<WaitOutcome>();
  asio::co_spawn(io, write_then_wait(&*db, &*group, db_path, "a", a), asio::detached);
  asio::co_spawn(io, write_then_wait(&*db, &*group, db_path, "b", b), asio::detached);
  io.run();
  for (const auto& out : {a, b}) {
    ASSERT_TRUE(out->woke);
    ASSERT_TRUE(out->durable.has_value());
    EXPECT_TRUE(out->durable->ok()) << out->durable->error().message;
    EXPECT_EQ(out->commits_when_woken, 1u);     // woken by the one commit, not before it
    EXPECT_EQ(out->rows_on_disk_when_woken, 2);  // both writes were on disk when either woke
  }
}

TEST_F(GroupCommitTest, DurableIsImmediateWhenNothingIsPending) {
  auto out = std::make_shared<WaitOutcome>();
  asio::co_spawn(io, wait_only(&*group, group->mark(), out), asio::detached);
  io.run();
  ASSERT_TRUE(out->woke);
  EXPECT_TRUE(out->durable->ok());
  EXPECT_EQ(group->commits(), 0u);
}

TEST_F(GroupCommitTest, CommitFailureIsReportedToEveryWaiter) {
  const auto mark = group->mark();
  must(insert_in_transaction(*db, "innocent"));
  // A deferred foreign key is only checked at COMMIT: this write makes the whole group's COMMIT fail.
  must(db->with_transaction(
      [&]() -> Result<void> { return db->exec("INSERT INTO child (name, parent_id) VALUES ('orphan', 42)", "orphan"); }));
  auto first = std::make_shared<WaitOutcome>();
  auto second = std::make_shared<WaitOutcome>();
  asio::co_spawn(io, wait_only(&*group, mark, first), asio::detached);
  asio::co_spawn(io, wait_only(&*group, mark, second), asio::detached);
  io.run();
  for (const auto& out : {first, second}) {
    ASSERT_TRUE(out->woke);
    ASSERT_FALSE(out->durable->ok());
    EXPECT_NE(out->durable->error().message.find("could not make its records durable"), std::string::npos)
        << out->durable->error().message;
    EXPECT_NE(out->durable->error().message.find("FOREIGN KEY"), std::string::npos) << out->durable->error().message;
  }
  EXPECT_EQ(group->failures(), 1u);
  EXPECT_EQ(rows_on_disk(), 0);  // nothing of the failed group is on disk, and nobody was told otherwise
  EXPECT_FALSE(db->in_transaction());

  // The next group works, and a mark taken after the failure is not affected by it.
  io.restart();
  auto later = std::make_shared<WaitOutcome>();
  asio::co_spawn(io, write_then_wait(&*db, &*group, db_path, "later", later), asio::detached);
  io.run();
  ASSERT_TRUE(later->woke);
  EXPECT_TRUE(later->durable->ok());
  EXPECT_EQ(rows_on_disk(), 1);
}

TEST_F(GroupCommitTest, DestructorCommitsWhatIsOpen) {
  must(insert_in_transaction(*db, "at shutdown"));
  group.reset();  // never ran the io_context
  EXPECT_EQ(rows_on_disk(), 1);
  EXPECT_FALSE(db->group_mode());
  must(insert_in_transaction(*db, "plain again"));  // back to one durable transaction per call
  EXPECT_EQ(rows_on_disk(), 2);
}

class GatedGroupCommitTest : public GroupCommitTest {
 protected:
  void SetUp() override {
    GroupCommitTest::SetUp();
    group.reset();
    group.emplace(*db, io.get_executor(), [gated = gated] { return gated->run(); });
  }
  void TearDown() override {
    gated->gate.release(100);  // the destructor's last flush must not block
    GroupCommitTest::TearDown();
  }
  std::shared_ptr<GatedFlush> gated = std::make_shared<GatedFlush>();
};

TEST_F(GatedGroupCommitTest, DurableWaitsForAFlushThatStartedAfterItsCommit) {
  auto a = std::make_shared<WaitOutcome>();
  asio::co_spawn(io, write_then_wait(&*db, &*group, db_path, "a", a), asio::detached);
  ASSERT_TRUE(poll_until(io, [&] { return gated->started == 1; }));  // a committed; its flush runs
  settle(io);
  EXPECT_FALSE(a->woke);  // committed is not enough: the flush has not ended
  EXPECT_EQ(group->commits(), 1u);

  auto b = std::make_shared<WaitOutcome>();
  asio::co_spawn(io, write_then_wait(&*db, &*group, db_path, "b", b), asio::detached);
  ASSERT_TRUE(poll_until(io, [&] { return group->commits() == 2; }));  // b committed while flush 1 runs
  EXPECT_EQ(gated->started, 1);  // one flush at a time

  gated->gate.release();  // flush 1 ends: it covers a, but it started before b's COMMIT
  ASSERT_TRUE(poll_until(io, [&] { return a->woke; }));
  EXPECT_TRUE(a->durable->ok());
  ASSERT_TRUE(poll_until(io, [&] { return gated->started == 2; }));  // the next flush starts at once
  settle(io);
  EXPECT_FALSE(b->woke);  // not woken by the flush that started before its commit

  gated->gate.release();
  ASSERT_TRUE(poll_until(io, [&] { return b->woke; }));
  EXPECT_TRUE(b->durable->ok());
  EXPECT_EQ(gated->finished, 2);
  EXPECT_EQ(group->flushes(), 2u);
  EXPECT_EQ(rows_on_disk(), 2);
}

TEST_F(GatedGroupCommitTest, ATurnThatWroteNothingWaitsForNoFlush) {
  auto writer = std::make_shared<WaitOutcome>();
  asio::co_spawn(io, write_then_wait(&*db, &*group, db_path, "writer", writer), asio::detached);
  ASSERT_TRUE(poll_until(io, [&] { return gated->started == 1; }));  // the writer's flush runs
  auto reader = std::make_shared<WaitOutcome>();
  asio::co_spawn(io, wait_only(&*group, group->mark(), reader), asio::detached);
  ASSERT_TRUE(poll_until(io, [&] { return reader->woke; }));
  EXPECT_TRUE(reader->durable->ok());
  EXPECT_FALSE(writer->woke);  // still waiting for its flush
  gated->gate.release();
  ASSERT_TRUE(poll_until(io, [&] { return writer->woke; }));
  EXPECT_TRUE(writer->durable->ok());
}

TEST_F(GatedGroupCommitTest, ManyGroupsShareOneFlush) {
  auto first = std::make_shared<WaitOutcome>();
  asio::co_spawn(io, write_then_wait(&*db, &*group, db_path, "first", first), asio::detached);
  ASSERT_TRUE(poll_until(io, [&] { return gated->started == 1; }));
  std::vector<std::shared_ptr<WaitOutcome>> later;
  for (int i = 0; i < 10; ++i) {  // ten groups, each committed on its own while flush 1 runs
    later.push_back(std::make_shared<WaitOutcome>());
    asio::co_spawn(io, write_then_wait(&*db, &*group, db_path, "later " + std::to_string(i), later.back()),
                   asio::detached);
    const auto commits = static_cast<std::uint64_t>(i) + 2;
    ASSERT_TRUE(poll_until(io, [&] { return group->commits() == commits; }));
  }
  gated->gate.release();
  ASSERT_TRUE(poll_until(io, [&] { return first->woke && gated->started == 2; }));
  gated->gate.release();
  ASSERT_TRUE(poll_until(io, [&] {
    for (const auto& out : later)
      if (!out->woke) return false;
    return true;
  }));
  for (const auto& out : later) EXPECT_TRUE(out->durable->ok());
  settle(io);
  EXPECT_EQ(group->commits(), 11u);
  EXPECT_EQ(gated->started, 2);  // eleven groups, two flushes
  EXPECT_EQ(group->flushes(), 2u);
  EXPECT_EQ(rows_on_disk(), 11);
}

TEST_F(GatedGroupCommitTest, FlushErrorFailsEveryWaiterAndEveryLaterOne) {
  gated->fail = true;
  gated->gate.release(10);
  auto a = std::make_shared<WaitOutcome>();
  auto b = std::make_shared<WaitOutcome>();
  asio::co_spawn(io, write_then_wait(&*db, &*group, db_path, "a", a), asio::detached);
  asio::co_spawn(io, write_then_wait(&*db, &*group, db_path, "b", b), asio::detached);
  ASSERT_TRUE(poll_until(io, [&] { return a->woke && b->woke; }));
  for (const auto& out : {a, b}) {
    ASSERT_FALSE(out->durable->ok());
    EXPECT_NE(out->durable->error().message.find("could not make its records durable"), std::string::npos)
        << out->durable->error().message;
    EXPECT_NE(out->durable->error().message.find("injected flush failure"), std::string::npos)
        << out->durable->error().message;
  }
  EXPECT_EQ(group->failures(), 1u);
  // The kernel may have dropped the pages: nothing written later can be promised either.
  auto after = std::make_shared<WaitOutcome>();
  asio::co_spawn(io, wait_only(&*group, group->mark(), after), asio::detached);
  ASSERT_TRUE(poll_until(io, [&] { return after->woke; }));
  EXPECT_FALSE(after->durable->ok());
}

TEST_F(GatedGroupCommitTest, AWriteThatCommittedOnItsOwnIsFlushedToo) {
  const auto mark = group->mark();
  must(db->exec("INSERT INTO t (name) VALUES ('autocommit')", "write outside with_transaction"));
  EXPECT_FALSE(db->group_open());  // committed by itself (synchronous=NORMAL: not flushed yet)
  auto out = std::make_shared<WaitOutcome>();
  asio::co_spawn(io, wait_only(&*group, mark, out), asio::detached);
  ASSERT_TRUE(poll_until(io, [&] { return gated->started == 1; }));  // seen through the commit hook
  settle(io);
  EXPECT_FALSE(out->woke);
  gated->gate.release();
  ASSERT_TRUE(poll_until(io, [&] { return out->woke; }));
  EXPECT_TRUE(out->durable->ok());
}

std::int64_t synchronous_setting(Database& db) {
  auto s = must(db.prepare("PRAGMA synchronous", "read synchronous"));
  EXPECT_TRUE(must(s.step()));
  return s.column_int(0);
}

TEST_F(GroupCommitTest, RealFlushOfTheWalFile) {
  EXPECT_EQ(synchronous_setting(*db), 1);  // NORMAL: COMMIT does not flush, the flusher does
  auto out = std::make_shared<WaitOutcome>();
  asio::co_spawn(io, write_then_wait(&*db, &*group, db_path, "flushed", out), asio::detached);
  io.run();  // returns only once the flush has reported back
  ASSERT_TRUE(out->woke);
  EXPECT_TRUE(out->durable->ok()) << out->durable->error().message;
  EXPECT_EQ(group->flushes(), 1u);
  EXPECT_EQ(group->failures(), 0u);
  EXPECT_EQ(rows_on_disk(), 1);
  group.reset();
  EXPECT_EQ(synchronous_setting(*db), 2);  // FULL again outside group mode (recovery, adsctl)
}

}  // namespace
}  // namespace cardperso::ads
