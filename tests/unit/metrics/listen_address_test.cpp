#include <gtest/gtest.h>

#include "cardperso/metrics/listen_address.hpp"

using cardperso::metrics::parse_listen_address;
using cardperso::net::Endpoint;

TEST(MetricsListenAddress, ABarePortBindsLoopback) {
  auto e = parse_listen_address("9464");
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_EQ(*e, (Endpoint{"127.0.0.1", 9464}));
}

TEST(MetricsListenAddress, PortZeroIsAllowed) {
  auto e = parse_listen_address("0");
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_EQ(*e, (Endpoint{"127.0.0.1", 0}));
}

TEST(MetricsListenAddress, AHostIsKeptAsGiven) {
  auto any = parse_listen_address("0.0.0.0:9464");
  ASSERT_TRUE(any) << any.error().message;
  EXPECT_EQ(*any, (Endpoint{"0.0.0.0", 9464}));
  auto v6 = parse_listen_address("[::1]:9465");
  ASSERT_TRUE(v6) << v6.error().message;
  EXPECT_EQ(*v6, (Endpoint{"::1", 9465}));
}

TEST(MetricsListenAddress, BadTextIsRefused) {
  EXPECT_FALSE(parse_listen_address(""));
  EXPECT_FALSE(parse_listen_address("65536"));
  EXPECT_FALSE(parse_listen_address("localhost"));
  EXPECT_FALSE(parse_listen_address("9464x"));
  EXPECT_FALSE(parse_listen_address(":9464"));
}
