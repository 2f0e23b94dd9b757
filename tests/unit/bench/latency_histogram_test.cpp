// Percentiles by nearest rank on known sample sets, rounding of durations, merging, JSON fields.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>
#include <vector>

#include <nlohmann/json.hpp>

#include "latency_histogram.hpp"

using cardperso::bench::LatencyHistogram;
using namespace std::chrono_literals;

namespace {

LatencyHistogram shuffled_range(std::uint64_t first, std::uint64_t last) {
  std::vector<std::uint64_t> values(last - first + 1);
  std::iota(values.begin(), values.end(), first);
  std::mt19937 rng(7);
  std::shuffle(values.begin(), values.end(), rng);
  LatencyHistogram h;
  for (auto v : values) h.record_us(v);
  return h;
}

}  // namespace

TEST(LatencyHistogram, EmptyReportsZeros) {
  LatencyHistogram h;
  const auto s = h.summary();
  EXPECT_EQ(s.count, 0u);
  EXPECT_EQ(s.p50_us, 0u);
  EXPECT_EQ(s.p999_us, 0u);
  EXPECT_EQ(s.max_us, 0u);
  EXPECT_EQ(h.percentile_us(99), 0u);
}

TEST(LatencyHistogram, NearestRankOnOneToHundred) {
  const auto h = shuffled_range(1, 100);
  const auto s = h.summary();
  EXPECT_EQ(s.count, 100u);
  EXPECT_EQ(s.min_us, 1u);
  EXPECT_EQ(s.max_us, 100u);
  EXPECT_DOUBLE_EQ(s.mean_us, 50.5);
  EXPECT_EQ(s.p50_us, 50u);
  EXPECT_EQ(s.p99_us, 99u);
  EXPECT_EQ(s.p999_us, 100u);  // rank ceil(99.9) = 100
  EXPECT_EQ(h.percentile_us(1), 1u);
  EXPECT_EQ(h.percentile_us(100), 100u);
}

TEST(LatencyHistogram, NearestRankOnOneToThousandHitsExactRanks) {
  const auto s = shuffled_range(1, 1000).summary();
  EXPECT_EQ(s.p50_us, 500u);
  EXPECT_EQ(s.p99_us, 990u);
  EXPECT_EQ(s.p999_us, 999u);  // 0.999 * 1000 must not round up to rank 1000
}

TEST(LatencyHistogram, TailIsTheOutlierNotTheBulk) {
  LatencyHistogram h;
  for (int i = 0; i < 990; ++i) h.record_us(100);
  for (int i = 0; i < 10; ++i) h.record_us(5000);
  EXPECT_EQ(h.percentile_us(50), 100u);
  EXPECT_EQ(h.percentile_us(99), 100u);     // rank 990
  EXPECT_EQ(h.percentile_us(99.1), 5000u);  // rank 991
  EXPECT_EQ(h.percentile_us(99.9), 5000u);
}

TEST(LatencyHistogram, RecordingAfterAQueryStillSorts) {
  LatencyHistogram h;
  h.record_us(10);
  h.record_us(20);
  EXPECT_EQ(h.percentile_us(100), 20u);
  h.record_us(5);
  EXPECT_EQ(h.percentile_us(1), 5u);
  EXPECT_EQ(h.summary().min_us, 5u);
}

TEST(LatencyHistogram, DurationsRoundToNearestMicrosecond) {
  LatencyHistogram h;
  h.record(1499ns);
  h.record(1500ns);
  h.record(-3us);
  h.record(2ms);
  const auto s = h.summary();
  EXPECT_EQ(s.min_us, 0u);
  EXPECT_EQ(h.percentile_us(50), 1u);
  EXPECT_EQ(h.percentile_us(75), 2u);
  EXPECT_EQ(s.max_us, 2000u);
}

TEST(LatencyHistogram, HugeValuesSaturate) {
  LatencyHistogram h;
  h.record_us(UINT64_MAX);
  EXPECT_EQ(h.summary().max_us, UINT32_MAX);
}

TEST(LatencyHistogram, MergeCombinesSamples) {
  auto a = shuffled_range(1, 50);
  const auto b = shuffled_range(51, 100);
  a.merge(b);
  const auto s = a.summary();
  EXPECT_EQ(s.count, 100u);
  EXPECT_EQ(s.p50_us, 50u);
  EXPECT_EQ(s.p99_us, 99u);
  EXPECT_DOUBLE_EQ(s.mean_us, 50.5);
  a.clear();
  EXPECT_EQ(a.count(), 0u);
}

TEST(LatencyHistogram, RejectsPercentilesOutsideTheRange) {
  LatencyHistogram h;
  h.record_us(1);
  EXPECT_THROW((void)h.percentile_us(0), std::invalid_argument);
  EXPECT_THROW((void)h.percentile_us(100.1), std::invalid_argument);
  EXPECT_THROW((void)h.percentile_us(-5), std::invalid_argument);
}

TEST(LatencyHistogram, JsonCarriesEveryFigure) {
  const auto j = cardperso::bench::to_json(shuffled_range(1, 1000).summary());
  EXPECT_EQ(j.at("count"), 1000);
  EXPECT_EQ(j.at("min_us"), 1);
  EXPECT_EQ(j.at("p50_us"), 500);
  EXPECT_EQ(j.at("p99_us"), 990);
  EXPECT_EQ(j.at("p999_us"), 999);
  EXPECT_EQ(j.at("max_us"), 1000);
  EXPECT_DOUBLE_EQ(j.at("mean_us").get<double>(), 500.5);
  const auto line = cardperso::bench::describe(shuffled_range(1, 1000).summary());
  EXPECT_NE(line.find("p99.9 999 us"), std::string::npos) << line;
}
