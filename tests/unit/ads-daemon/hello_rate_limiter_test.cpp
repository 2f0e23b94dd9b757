// The hello token bucket: burst, refill rate, "0 = no limit", one log line per source per interval
// with the count of refusals it covers, and a bounded table whose eviction favours the evicted.
#include <gtest/gtest.h>

#include <stdexcept>

#include "cardperso/ads/service/hello_rate_limiter.hpp"

namespace cardperso::ads {
namespace {

using namespace std::chrono_literals;
using Clock = HelloRateLimiter::Clock;

int admitted(HelloRateLimiter& limiter, const std::string& source, int tries, Clock::time_point now) {
  int ok = 0;
  for (int i = 0; i < tries; ++i) ok += limiter.admit(source, now).allowed ? 1 : 0;
  return ok;
}

TEST(HelloRateLimiter, AdmitsTheBurstThenRefusesUntilTokensComeBack) {
  HelloRateLimiter limiter({.rate_per_second = 5, .burst = 20, .max_sources = 16, .log_interval = 10s});
  const auto t0 = Clock::now();
  EXPECT_EQ(admitted(limiter, "127.0.0.2", 25, t0), 20);
  EXPECT_EQ(limiter.refused(), 5u);
  // 5 per second: after 1 s five more, after another 0.1 s none (half a token).
  EXPECT_EQ(admitted(limiter, "127.0.0.2", 10, t0 + 1s), 5);
  EXPECT_EQ(admitted(limiter, "127.0.0.2", 1, t0 + 1100ms), 0);
  EXPECT_EQ(admitted(limiter, "127.0.0.2", 1, t0 + 1200ms), 1);
  // Refilling stops at the burst, however long the source was quiet.
  EXPECT_EQ(admitted(limiter, "127.0.0.2", 30, t0 + 1h), 20);
}

TEST(HelloRateLimiter, SourcesHaveTheirOwnBuckets) {
  HelloRateLimiter limiter({.rate_per_second = 1, .burst = 2, .max_sources = 16, .log_interval = 10s});
  const auto t0 = Clock::now();
  EXPECT_EQ(admitted(limiter, "127.0.0.2", 10, t0), 2);
  EXPECT_EQ(admitted(limiter, "127.0.0.1", 2, t0), 2) << "a flood from one address cost another address tokens";
  EXPECT_EQ(limiter.tracked_sources(), 2u);
}

TEST(HelloRateLimiter, RateZeroMeansNoLimit) {
  HelloRateLimiter limiter({.rate_per_second = 0, .burst = 1, .max_sources = 1, .log_interval = 1s});
  EXPECT_FALSE(limiter.enabled());
  EXPECT_EQ(admitted(limiter, "127.0.0.2", 10'000, Clock::now()), 10'000);
  EXPECT_EQ(limiter.tracked_sources(), 0u);
}

TEST(HelloRateLimiter, AskForOneLogLinePerSourcePerIntervalWithTheCount) {
  HelloRateLimiter limiter({.rate_per_second = 1, .burst = 1, .max_sources = 16, .log_interval = 10s});
  const auto t0 = Clock::now();
  ASSERT_TRUE(limiter.admit("10.0.0.1", t0).allowed);
  auto first = limiter.admit("10.0.0.1", t0);
  EXPECT_FALSE(first.allowed);
  EXPECT_EQ(first.log_refusals, 1u) << "the first refusal of a source is logged at once";
  int lines = 0;
  for (int i = 0; i < 99; ++i) lines += limiter.admit("10.0.0.1", t0 + 1ms).log_refusals > 0 ? 1 : 0;
  EXPECT_EQ(lines, 0) << "a flood must not produce a line per refusal";
  // Another source gets its own first line.
  ASSERT_TRUE(limiter.admit("10.0.0.9", t0).allowed);
  EXPECT_EQ(limiter.admit("10.0.0.9", t0).log_refusals, 1u);
  // 10 s later (tokens spent again first): the line covers the 99 quiet refusals and this one.
  ASSERT_TRUE(limiter.admit("10.0.0.1", t0 + 10s).allowed);
  auto later = limiter.admit("10.0.0.1", t0 + 10s);
  EXPECT_FALSE(later.allowed);
  EXPECT_EQ(later.log_refusals, 100u);
}

TEST(HelloRateLimiter, TheTableStaysBoundedAndEvictsTheLeastRecentlySeen) {
  HelloRateLimiter limiter({.rate_per_second = 1, .burst = 1, .max_sources = 100, .log_interval = 10s});
  const auto t0 = Clock::now();
  ASSERT_TRUE(limiter.admit("192.0.2.1", t0).allowed);
  EXPECT_FALSE(limiter.admit("192.0.2.1", t0).allowed);
  // An attacker cycling through 100,000 addresses: the table never holds more than 100.
  for (int i = 0; i < 100'000; ++i) {
    limiter.admit("10." + std::to_string(i >> 16) + "." + std::to_string((i >> 8) & 255) + "." + std::to_string(i & 255),
                  t0);
    ASSERT_LE(limiter.tracked_sources(), 100u);
  }
  EXPECT_EQ(limiter.tracked_sources(), 100u);
  // 192.0.2.1 was evicted: it starts again with a full bucket (eviction only ever favours a source).
  EXPECT_TRUE(limiter.admit("192.0.2.1", t0).allowed);
  // A source seen recently survives other sources' churn.
  HelloRateLimiter small({.rate_per_second = 1, .burst = 1, .max_sources = 3, .log_interval = 10s});
  small.admit("a", t0);
  small.admit("b", t0);
  small.admit("c", t0);
  EXPECT_FALSE(small.admit("a", t0).allowed);  // seen again: now the most recent
  small.admit("d", t0);                        // evicts b, the least recently seen
  EXPECT_FALSE(small.admit("a", t0).allowed) << "a was evicted although b was older";
  EXPECT_TRUE(small.admit("b", t0).allowed);
}

TEST(HelloRateLimiter, RejectsNonsenseOptions) {
  EXPECT_THROW(HelloRateLimiter({.rate_per_second = -1, .burst = 1, .max_sources = 1, .log_interval = 1s}),
               std::invalid_argument);
  EXPECT_THROW(HelloRateLimiter({.rate_per_second = 1, .burst = 0.5, .max_sources = 1, .log_interval = 1s}),
               std::invalid_argument);
  EXPECT_THROW(HelloRateLimiter({.rate_per_second = 1, .burst = 1, .max_sources = 0, .log_interval = 1s}),
               std::invalid_argument);
}

}  // namespace
}  // namespace cardperso::ads
