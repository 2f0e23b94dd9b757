// The DTD's choice among several ADS addresses (AdsFailover, sans-I/O: no sockets, time given), and
// the --ads list as the command line and the config file give it.
#include <gtest/gtest.h>

#include "cardperso/dtd/ads_addresses.hpp"
#include "cardperso/dtd/ads_failover.hpp"

namespace cardperso::dtd {
namespace {

using namespace std::chrono_literals;
using Clock = AdsFailover::Clock;

net::Endpoint at(std::uint16_t port) { return net::Endpoint{"10.0.0.1", port}; }

AdsFailoverOptions three(std::chrono::milliseconds failback_every = 30s) {
  AdsFailoverOptions o;
  o.addresses = {at(7001), at(7002), at(7003)};
  o.backoff = {.initial = 100ms, .maximum = 400ms, .jitter = 0.0};
  o.failback_every = failback_every;
  return o;
}

TEST(AdsFailover, FailedAttemptsWalkTheListAndBackOffOnlyAfterAWholeRound) {
  AdsFailover f(three());
  EXPECT_EQ(f.next(), 0U);
  auto a = f.attempt_failed();
  EXPECT_EQ(a.failed, 0U);
  EXPECT_FALSE(a.wait);
  EXPECT_EQ(f.next(), 1U);
  a = f.attempt_failed();
  EXPECT_FALSE(a.wait);
  EXPECT_EQ(f.next(), 2U);
  a = f.attempt_failed();
  EXPECT_EQ(a.failed, 2U);
  ASSERT_TRUE(a.wait);
  EXPECT_EQ(*a.wait, 100ms);
  EXPECT_EQ(f.next(), 0U);  // the next round starts from the most preferred
  for (int i = 0; i < 2; ++i) EXPECT_FALSE(f.attempt_failed().wait);
  a = f.attempt_failed();
  ASSERT_TRUE(a.wait);
  EXPECT_EQ(*a.wait, 200ms);  // net::Backoff between rounds, doubling
}

TEST(AdsFailover, OneAddressBacksOffAfterEveryAttemptAsBefore) {
  AdsFailoverOptions o;
  o.addresses = {at(7000)};
  o.backoff = {.initial = 100ms, .maximum = 150ms, .jitter = 0.0};
  AdsFailover f(o);
  EXPECT_EQ(f.attempt_failed().wait, 100ms);
  EXPECT_EQ(f.attempt_failed().wait, 150ms);
  EXPECT_EQ(f.next(), 0U);
  f.connected(Clock::now());
  EXPECT_EQ(f.failovers(), 0U);  // the same address came back: nothing to fail over to
  EXPECT_FALSE(f.failback_due());  // nowhere to fail back to
}

TEST(AdsFailover, ConnectingPastADeadAddressIsAFailoverAndResetsTheBackoff) {
  AdsFailover f(three());
  const auto t0 = Clock::now();
  f.connected(t0);
  EXPECT_EQ(f.linked(), 0U);
  EXPECT_EQ(f.failovers(), 0U);  // the preferred one answered: no failover
  EXPECT_FALSE(f.failback_due());
  f.link_lost();
  EXPECT_FALSE(f.linked());
  EXPECT_EQ(f.next(), 0U);
  f.attempt_failed();
  f.connected(t0);
  EXPECT_EQ(f.linked(), 1U);
  EXPECT_EQ(f.failovers(), 1U);
  // Lost again: the most preferred is tried first again; a whole failed round starts at the
  // initial backoff, since the last link reset it.
  f.link_lost();
  EXPECT_EQ(f.next(), 0U);
  f.attempt_failed();
  f.attempt_failed();
  EXPECT_EQ(f.attempt_failed().wait, 100ms);
}

TEST(AdsFailover, FailBackIsDueEveryPeriodAndProbesTheMorePreferredInOrder) {
  AdsFailover f(three(1s));
  const auto t0 = Clock::now();
  f.attempt_failed();
  f.attempt_failed();
  f.connected(t0);  // on the third address
  ASSERT_TRUE(f.failback_due());
  EXPECT_EQ(*f.failback_due(), t0 + 1s);
  EXPECT_TRUE(f.failback_candidates(t0 + 500ms, false).empty());  // not yet
  EXPECT_EQ(f.failback_candidates(t0 + 1s, false), (std::vector<std::size_t>{0, 1}));
  f.failback_failed(t0 + 1s);
  EXPECT_EQ(*f.failback_due(), t0 + 2s);
  f.failed_back(1, t0 + 2s);
  EXPECT_EQ(f.linked(), 1U);
  EXPECT_EQ(f.failbacks(), 1U);
  EXPECT_EQ(f.failovers(), 1U);  // a fail-back is not a failover
  EXPECT_EQ(f.failback_candidates(t0 + 3s, false), (std::vector<std::size_t>{0}));
  f.failed_back(0, t0 + 3s);
  EXPECT_EQ(f.linked(), 0U);
  EXPECT_FALSE(f.failback_due());  // on the most preferred: nothing better to probe
}

TEST(AdsFailover, ALinkWithASessionOpenIsNeverMoved) {
  AdsFailover f(three(1s));
  const auto t0 = Clock::now();
  f.attempt_failed();
  f.connected(t0);
  EXPECT_TRUE(f.failback_candidates(t0 + 1s, true).empty());
  // Postponed by a whole period, then probed once the session is over.
  EXPECT_EQ(*f.failback_due(), t0 + 2s);
  EXPECT_TRUE(f.failback_candidates(t0 + 1500ms, false).empty());
  EXPECT_EQ(f.failback_candidates(t0 + 2s, false), (std::vector<std::size_t>{0}));
}

TEST(AdsFailover, FailBackZeroMeansNever) {
  AdsFailover f(three(0s));
  f.attempt_failed();
  f.connected(Clock::now());
  EXPECT_EQ(f.linked(), 1U);
  EXPECT_FALSE(f.failback_due());
  EXPECT_TRUE(f.failback_candidates(Clock::now() + 24h, false).empty());
}

TEST(AdsFailover, NoAddressIsAProgrammerError) { EXPECT_THROW(AdsFailover(AdsFailoverOptions{}), std::invalid_argument); }

// ---- the --ads values -------------------------------------------------------------------------------

TEST(AdsAddresses, RepeatedOptionsAndCommaListsKeepTheirOrder) {
  auto r = parse_ads_addresses({"a.example:7000, b.example:7001", "[::1]:7002"});
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->size(), 3U);
  EXPECT_EQ((*r)[0], (net::Endpoint{"a.example", 7000}));
  EXPECT_EQ((*r)[1], (net::Endpoint{"b.example", 7001}));
  EXPECT_EQ((*r)[2], (net::Endpoint{"::1", 7002}));
}

TEST(AdsAddresses, OneAddressKeepsItsMessages) {
  auto r = parse_ads_addresses({"127.0.0.1:7000"});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->size(), 1U);
  auto zero = parse_ads_addresses({"127.0.0.1:0"});
  ASSERT_FALSE(zero);
  EXPECT_EQ(zero.error().message, "--ads needs a port other than 0");
  auto bad = parse_ads_addresses({"nohost"});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "--ads: address 'nohost' has no port; expected host:port, e.g. 127.0.0.1:7000");
}

TEST(AdsAddresses, ABadEntryInAListIsNamed) {
  auto bad = parse_ads_addresses({"a:7000,b:70x0"});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "--ads: address 'b:70x0': port '70x0' is not a number");
  auto zero = parse_ads_addresses({"a:7000", "b:0"});
  ASSERT_FALSE(zero);
  EXPECT_EQ(zero.error().message, "--ads needs a port other than 0 ('b:0')");
  auto empty = parse_ads_addresses({"a:7000,,b:7001"});
  ASSERT_FALSE(empty);
  EXPECT_NE(empty.error().message.find("empty entry"), std::string::npos) << empty.error().message;
  auto trailing = parse_ads_addresses({"a:7000,"});
  ASSERT_FALSE(trailing);
  EXPECT_NE(trailing.error().message.find("empty entry"), std::string::npos);
  auto twice = parse_ads_addresses({"a:7000", "a:7000"});
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().message, "--ads: a:7000 is given twice");
}

}  // namespace
}  // namespace cardperso::dtd
