#include "cardperso/ads/store/number_pools.hpp"

#include <gtest/gtest.h>

#include <set>

#include "stock_fixture.hpp"

namespace cardperso::ads {
namespace {

using test::must;

class NumberPoolsTest : public test::StockTest {
 protected:
  Result<std::string> allocate(NumberKind kind, const std::string& iccid) {
    return db->with_transaction([&] { return pools->allocate(kind, iccid); });
  }
};

TEST_F(NumberPoolsTest, ValuesArePrefixAndPaddedNumber) {
  const auto iccids = secret_batch_for_a(1);
  add_pools();
  EXPECT_EQ(must(allocate(NumberKind::Imsi, iccids[0])), "001010000000001");
  EXPECT_EQ(must(allocate(NumberKind::Imsi, iccids[0])), "001010000000002");
  EXPECT_EQ(must(allocate(NumberKind::Msisdn, iccids[0])), "44770090001");
}

TEST_F(NumberPoolsTest, NeverTheSameNumberTwiceOverManyAllocations) {
  const auto iccids = secret_batch_for_a(1);
  add_pools("0000000500");
  std::set<std::string> seen;
  for (int i = 0; i < 500; ++i) {
    auto v = allocate(NumberKind::Imsi, iccids[0]);
    ASSERT_TRUE(v.ok()) << i << ": " << v.error().message;
    EXPECT_TRUE(seen.insert(*v).second) << *v << " handed out twice";
  }
  EXPECT_EQ(test::raw_int(db_path, "SELECT count(DISTINCT value) FROM number_allocations WHERE kind = 'imsi'"), 500);
  // Exhausted: a clear error, nothing changes.
  auto none = allocate(NumberKind::Imsi, iccids[0]);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().message,
            "no imsi left: every imsi pool is used up and none was released; add a pool with "
            "`adsctl pool add --kind imsi ...`");
  EXPECT_EQ(test::raw_int(db_path, "SELECT next FROM number_pools WHERE kind = 'imsi'"), 501);
}

TEST_F(NumberPoolsTest, TheDatabaseItselfRefusesASecondAllocation) {
  const auto iccids = secret_batch_for_a(1);
  add_pools();
  const std::string v = must(allocate(NumberKind::Imsi, iccids[0]));
  // Even a pool pointer wound back (a bug, an edit) cannot hand the number out again. (On PostgreSQL
  // the pool handed out a block: the rest of it, released, goes too, so the pool is used again.)
  ASSERT_EQ(test::raw_exec(db_path, "DELETE FROM number_allocations WHERE state = 'released'; "
                                    "UPDATE number_pools SET next = first WHERE kind = 'imsi'"),
            "");
  auto again = allocate(NumberKind::Imsi, iccids[0]);
  ASSERT_FALSE(again.ok());
  // SQLite says "UNIQUE constraint failed", PostgreSQL "violates unique constraint".
  EXPECT_TRUE(again.error().message.find("UNIQUE") != std::string::npos ||
              again.error().message.find("unique") != std::string::npos)
      << again.error().message;
  EXPECT_EQ(test::raw_int(db_path, "SELECT count(*) FROM number_allocations"), 1);
}

TEST_F(NumberPoolsTest, ARolledBackAllocationLosesNoNumber) {
  const auto iccids = secret_batch_for_a(1);
  add_pools();
  std::string taken;
  auto failed = db->with_transaction([&]() -> Result<void> {
    auto v = pools->allocate(NumberKind::Msisdn, iccids[0]);
    if (!v) return v.error();
    taken = *v;
    return fail("the script could not be built");  // the caller's transaction fails after allocating
  });
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(taken, "44770090001");
  // No number is left on the card (on PostgreSQL the pool's block stays, released).
  EXPECT_EQ(test::raw_int(db_path, "SELECT count(*) FROM number_allocations WHERE state <> 'released'"), 0);
  EXPECT_EQ(must(allocate(NumberKind::Msisdn, iccids[0])), "44770090001");  // still available
}

TEST_F(NumberPoolsTest, ReleasedNumbersAreReusedFirst) {
  const auto iccids = secret_batch_for_a(2);
  add_pools();
  const std::string a = must(allocate(NumberKind::Imsi, iccids[0]));
  const std::string b = must(allocate(NumberKind::Imsi, iccids[0]));
  must(db->with_transaction([&] { return pools->commit(NumberKind::Imsi, b, iccids[0]); }));
  EXPECT_EQ(must(db->with_transaction([&] { return pools->release_reserved(iccids[0]); })), 1);  // a only
  EXPECT_EQ(must(allocate(NumberKind::Imsi, iccids[1])), a);
  auto mine = must(pools->numbers_of(iccids[0]));
  ASSERT_EQ(mine.size(), 1u);
  EXPECT_EQ(mine[0].value, b);
  EXPECT_EQ(mine[0].state, NumberState::Committed);
  // Commit needs a reservation for that very card.
  EXPECT_EQ(db->with_transaction([&] { return pools->commit(NumberKind::Imsi, a, iccids[0]); }).error().message,
            "imsi " + a + " is not reserved for card " + iccids[0] + "; allocate it for this card first");
  // Counts per pool.
  auto list = must(pools->list());
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].kind, NumberKind::Imsi);
  EXPECT_EQ(list[0].reserved, 1);
  EXPECT_EQ(list[0].committed, 1);
  // A pool hands out one number at a time on SQLite, a block of 16 on PostgreSQL (the rest of the
  // block waits as released numbers).
  const int handed_out = db->backend() == Backend::Postgres ? 16 : 2;
  EXPECT_EQ(list[0].never_used(), 9999 - handed_out);
  EXPECT_EQ(list[0].released, handed_out - 2);
}

TEST_F(NumberPoolsTest, PoolsAreCheckedAndMayNotOverlap) {
  must(pools->add_pool(NumberKind::Imsi, "00101", "0000000001", "0000000100"));
  EXPECT_NE(pools->add_pool(NumberKind::Imsi, "001010", "000000050", "000000200").error().message.find("overlaps pool 1"),
            std::string::npos);
  EXPECT_TRUE(pools->add_pool(NumberKind::Imsi, "00101", "0000000101", "0000000200").ok());
  EXPECT_TRUE(pools->add_pool(NumberKind::Msisdn, "00101", "0000000001", "0000000100").ok());  // another kind
  EXPECT_FALSE(pools->add_pool(NumberKind::Imsi, "00101", "0000000001", "00000000001").ok());  // 16 digits
  EXPECT_FALSE(pools->add_pool(NumberKind::Imsi, "00101", "0000000009", "0000000001").ok());
  EXPECT_FALSE(pools->add_pool(NumberKind::Imsi, "0010x", "1", "9").ok());
  EXPECT_FALSE(pools->add_pool(NumberKind::Msisdn, "44", "1", "").ok());
  EXPECT_EQ(must(pools->list()).size(), 3u);
}

TEST_F(NumberPoolsTest, AllocationOutsideATransactionIsAProgrammerError) {
  const auto iccids = secret_batch_for_a(1);
  add_pools();
  EXPECT_THROW((void)pools->allocate(NumberKind::Imsi, iccids[0]), std::logic_error);
  EXPECT_FALSE(allocate(NumberKind::Imsi, "8988211999999999990").ok());  // unknown card
}

}  // namespace
}  // namespace cardperso::ads
