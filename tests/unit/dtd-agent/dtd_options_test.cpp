// dtd-agent's command line for the ADS addresses: --ads repeated, comma lists, the config file, the
// fail-back period, and a clear one-line error for a bad address.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "dtd_options.hpp"

namespace cardperso::dtd {
namespace {

struct Parsed {
  std::optional<DtdOptions> options;
  int code = -1;
  std::string err;
};

Parsed parse(std::vector<std::string> args) {
  args.insert(args.begin(), "dtd-agent");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  ::testing::internal::CaptureStderr();
  auto r = parse_dtd_options(static_cast<int>(argv.size()), argv.data());
  Parsed out;
  out.err = ::testing::internal::GetCapturedStderr();
  if (auto* code = std::get_if<int>(&r))
    out.code = *code;
  else
    out.options = std::move(std::get<DtdOptions>(r));
  return out;
}

std::vector<std::string> addresses(const DtdOptions& o) {
  std::vector<std::string> out{o.relay.ads.ads.to_string()};
  for (const auto& e : o.relay.ads.more_ads) out.push_back(e.to_string());
  return out;
}

const std::vector<std::string> kCommon = {"--pairing-file", "/nonexistent/pairing", "--ste-listen", "127.0.0.1:0"};

std::vector<std::string> with(std::vector<std::string> args) {
  args.insert(args.end(), kCommon.begin(), kCommon.end());
  return args;
}

TEST(DtdOptionsAds, OneAddressAsBeforeWithTheDefaultFailBackPeriod) {
  auto p = parse(with({"--ads", "127.0.0.1:7000"}));
  ASSERT_TRUE(p.options) << p.err;
  EXPECT_EQ(addresses(*p.options), (std::vector<std::string>{"127.0.0.1:7000"}));
  EXPECT_EQ(p.options->relay.ads.failback_every, std::chrono::seconds(30));
}

TEST(DtdOptionsAds, RepeatedAndCommaSeparatedInOrder) {
  auto p = parse(with({"--ads", "a.example:7000,b.example:7000", "--ads", "[::1]:7001", "--ads-failback-s", "2"}));
  ASSERT_TRUE(p.options) << p.err;
  EXPECT_EQ(addresses(*p.options), (std::vector<std::string>{"a.example:7000", "b.example:7000", "[::1]:7001"}));
  EXPECT_EQ(p.options->relay.ads.failback_every, std::chrono::seconds(2));
}

TEST(DtdOptionsAds, TheConfigFileTakesTheSameOptionNameAndTheCommandLineWins) {
  const std::string path = ::testing::TempDir() + "dtd-failover-test.conf";
  {
    std::ofstream out(path);
    out << "ads = a.example:7000, b.example:7000\nads = c.example:7000\nads-failback-s = 0\n";
  }
  auto p = parse(with({"--config", path}));
  ASSERT_TRUE(p.options) << p.err;
  EXPECT_EQ(addresses(*p.options), (std::vector<std::string>{"a.example:7000", "b.example:7000", "c.example:7000"}));
  EXPECT_EQ(p.options->relay.ads.failback_every, std::chrono::seconds(0));
  auto over = parse(with({"--config", path, "--ads", "d.example:7000"}));
  ASSERT_TRUE(over.options) << over.err;
  EXPECT_EQ(addresses(*over.options), (std::vector<std::string>{"d.example:7000"}));
  std::remove(path.c_str());
}

TEST(DtdOptionsAds, ABadAddressIsAOneLineUsageErrorNamingIt) {
  auto p = parse(with({"--ads", "127.0.0.1:7000,ads-b.example"}));
  EXPECT_EQ(p.code, 1);
  EXPECT_NE(p.err.find("--ads: address 'ads-b.example' has no port"), std::string::npos) << p.err;
  EXPECT_EQ(std::count(p.err.begin(), p.err.end(), '\n'), 1) << p.err;
  auto zero = parse(with({"--ads", "127.0.0.1:0"}));
  EXPECT_EQ(zero.code, 1);
  EXPECT_NE(zero.err.find("--ads needs a port other than 0"), std::string::npos) << zero.err;
  auto twice = parse(with({"--ads", "127.0.0.1:7000", "--ads", "127.0.0.1:7000"}));
  EXPECT_EQ(twice.code, 1);
  EXPECT_NE(twice.err.find("127.0.0.1:7000 is given twice"), std::string::npos) << twice.err;
  auto negative = parse(with({"--ads", "127.0.0.1:7000", "--ads-failback-s", "-1"}));
  EXPECT_EQ(negative.code, 1);
  EXPECT_NE(negative.err.find("--ads-failback-s"), std::string::npos) << negative.err;
}

TEST(DtdOptionsAds, MissingAdsKeepsItsMessage) {
  auto p = parse(kCommon);
  EXPECT_EQ(p.code, 1);
  EXPECT_NE(p.err.find("the option '--ads' is required but missing"), std::string::npos) << p.err;
}

}  // namespace
}  // namespace cardperso::dtd
