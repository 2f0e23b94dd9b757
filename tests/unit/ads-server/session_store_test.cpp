#include "cardperso/ads/store/session_store.hpp"

#include <gtest/gtest.h>

#include "cardperso/ads/store/migrations.hpp"
#include "database_fixture.hpp"

namespace cardperso::ads {
namespace {

using test::must;

class SessionStoreTest : public test::DatabaseTest {
 protected:
  void SetUp() override {
    DatabaseTest::SetUp();
    sessions.emplace(*db, clock());
  }
  std::optional<SessionStore> sessions;
};

TEST_F(SessionStoreTest, OpenCloseAndList) {
  const auto a = must(sessions->open("8949000000000000001", "192.0.2.1:40000"));
  now += std::chrono::seconds(30);
  const auto b = must(sessions->open("0000", "192.0.2.2:40001"));  // unknown serials are recorded too
  EXPECT_GT(b, a);
  must(sessions->close(a, SessionOutcome::Completed, "2 cards personalised"));
  auto recent = must(sessions->recent(10));
  ASSERT_EQ(recent.size(), 2u);
  EXPECT_EQ(recent[0].id, b);  // most recent first
  EXPECT_FALSE(recent[0].outcome.has_value());
  EXPECT_FALSE(recent[0].ended_at.has_value());
  EXPECT_EQ(recent[1].id, a);
  EXPECT_EQ(recent[1].retailer_serial, "8949000000000000001");
  EXPECT_EQ(recent[1].peer, "192.0.2.1:40000");
  EXPECT_EQ(recent[1].outcome, "completed");
  EXPECT_EQ(recent[1].reason, "2 cards personalised");
  EXPECT_EQ(to_unix(*recent[1].ended_at), 1700000030);
  EXPECT_EQ(must(sessions->recent(1)).size(), 1u);
}

TEST_F(SessionStoreTest, ClosingTwiceOrUnknownIsRefused) {
  const auto a = must(sessions->open("1234567890", "peer"));
  must(sessions->close(a, SessionOutcome::Failed, "retailer authentication failed"));
  auto twice = sessions->close(a, SessionOutcome::Completed, "");
  ASSERT_FALSE(twice);
  EXPECT_NE(twice.error().message.find("not open"), std::string::npos);
  EXPECT_EQ(must(sessions->recent(1))[0].outcome, "failed");  // the first close stands
  EXPECT_FALSE(sessions->close(a + 100, SessionOutcome::Completed, ""));
}

TEST_F(SessionStoreTest, BoundsInputLengths) {
  EXPECT_FALSE(sessions->open(std::string(33, '1'), "peer"));
  EXPECT_FALSE(sessions->open("1234567890", std::string(129, 'p')));
  const auto a = must(sessions->open("1234567890", "peer"));
  must(sessions->close(a, SessionOutcome::Failed, std::string(5000, 'r')));
  EXPECT_EQ(must(sessions->recent(1))[0].reason.size(), kMaxSessionReason);
}

TEST_F(SessionStoreTest, CloseDanglingAfterACrash) {
  const auto done = must(sessions->open("1234567890", "peer-a"));
  must(sessions->close(done, SessionOutcome::Completed, "ok"));
  must(sessions->open("1234567891", "peer-b"));
  must(sessions->open("1234567892", "peer-c"));
  // The server dies: its connection goes away with two sessions open.
  sessions.reset();
  db.reset();
  db.emplace(must(open_ads_database(db_path, OpenMode::MustExist)));
  now += std::chrono::hours(1);
  sessions.emplace(*db, [this] { return now; });
  EXPECT_EQ(must(sessions->close_dangling()), 2);
  for (const auto& s : must(sessions->recent(10))) {
    ASSERT_TRUE(s.outcome.has_value());
    if (s.id == done) {
      EXPECT_EQ(*s.outcome, "completed");
      EXPECT_EQ(s.reason, "ok");
    } else {
      EXPECT_EQ(*s.outcome, "aborted");
      EXPECT_EQ(s.reason, "server restarted");
      EXPECT_EQ(to_unix(*s.ended_at), 1700003600);
    }
  }
  EXPECT_EQ(must(sessions->close_dangling()), 0);
}

// Retention: ended sessions older than the cut are deleted; open ones and newer ones stay.
TEST_F(SessionStoreTest, PruneDeletesOnlyEndedSessionsBeforeTheCut) {
  const auto old_done = must(sessions->open("1234567890", "peer-a"));
  must(sessions->close(old_done, SessionOutcome::Failed, "refused: retailer locked"));
  const auto old_open = must(sessions->open("1234567891", "peer-b"));  // still running: kept
  now += std::chrono::hours(24 * 100);
  const auto recent = must(sessions->open("1234567892", "peer-c"));
  must(sessions->close(recent, SessionOutcome::Completed, "completed"));
  EXPECT_EQ(must(sessions->prune(now - std::chrono::hours(24 * 90))), 1);
  std::vector<std::int64_t> left;
  for (const auto& s : must(sessions->recent(10))) left.push_back(s.id);
  EXPECT_EQ(left, (std::vector<std::int64_t>{recent, old_open}));
  EXPECT_EQ(must(sessions->prune(now - std::chrono::hours(24 * 90))), 0);
}

}  // namespace
}  // namespace cardperso::ads
