// Address parsing and the reconnect delay sequence: pure functions, no sockets.
#include <gtest/gtest.h>

#include <set>

#include "cardperso/net/backoff.hpp"
#include "cardperso/net/endpoint.hpp"

namespace cardperso::net {
namespace {

using namespace std::chrono_literals;

TEST(Endpoint, ParsesHostPortIpv4AndBracketedIpv6) {
  auto a = parse_endpoint("ads.example.org:7000");
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(*a, (Endpoint{"ads.example.org", 7000}));
  auto b = parse_endpoint("127.0.0.1:0");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*b, (Endpoint{"127.0.0.1", 0}));
  auto c = parse_endpoint("[::1]:65535");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(*c, (Endpoint{"::1", 65535}));
  EXPECT_EQ(c->to_string(), "[::1]:65535");
  EXPECT_EQ(a->to_string(), "ads.example.org:7000");
}

void expect_error(std::string_view text, std::string_view says) {
  auto r = parse_endpoint(text);
  ASSERT_FALSE(r.ok()) << "accepted '" << text << "'";
  EXPECT_NE(r.error().message.find(says), std::string::npos) << r.error().message;
}

TEST(Endpoint, RejectsMalformedAddressesWithTheReason) {
  expect_error("", "empty address");
  expect_error("localhost", "has no port");
  expect_error("localhost:", "empty port");
  expect_error(":7000", "empty host");
  expect_error("localhost:70x0", "is not a number");
  expect_error("localhost:-1", "is not a number");
  expect_error("localhost:65536", "above 65535");
  expect_error("localhost:99999999999999999999", "is not a number");
  expect_error("::1:7000", "put it in brackets");
  expect_error("[::1:7000", "without ']'");
  expect_error("[::1]7000", "no port after ']'");
  expect_error("[]:7000", "empty host");
  expect_error("a b:7000", "blank");
}

TEST(Backoff, DoublesFromTheInitialDelayUpToTheMaximum) {
  Backoff b(BackoffOptions{.initial = 100ms, .maximum = 5s, .jitter = 0.0});
  std::vector<std::chrono::milliseconds> got;
  for (int i = 0; i < 9; ++i) got.push_back(b.next());
  EXPECT_EQ(got, (std::vector<std::chrono::milliseconds>{100ms, 200ms, 400ms, 800ms, 1600ms, 3200ms, 5s, 5s, 5s}));
  b.reset();
  EXPECT_EQ(b.next(), 100ms);
}

TEST(Backoff, JitterStaysWithinItsBandAndVaries) {
  Backoff b(BackoffOptions{.initial = 1000ms, .maximum = 1000ms, .jitter = 0.2}, 42);
  std::set<long> distinct;
  for (int i = 0; i < 200; ++i) {
    const auto d = b.next();
    EXPECT_GE(d, 800ms);
    EXPECT_LE(d, 1000ms);
    distinct.insert(static_cast<long>(d.count()));
  }
  EXPECT_GT(distinct.size(), 20u);
}

}  // namespace
}  // namespace cardperso::net
