#pragma once
// Latencies of one benchmark run, in whole microseconds, kept exactly (one 4-byte sample each) so the
// tail percentiles are the observed values, not bucket edges. A run of a million round trips costs
// 4 MB, which a benchmark can afford; merge() combines per-connection histograms.
//
// Percentiles use the nearest-rank definition: p is the smallest recorded value such that at least
// p % of the samples are at or below it (rank = ceil(p/100 * n)). An empty histogram reports 0.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace cardperso::bench {

struct LatencySummary {
  std::size_t count = 0;
  std::uint64_t min_us = 0;
  double mean_us = 0;
  std::uint64_t p50_us = 0;
  std::uint64_t p99_us = 0;
  std::uint64_t p999_us = 0;
  std::uint64_t max_us = 0;
};

class LatencyHistogram {
 public:
  // Rounds to the nearest microsecond; negative durations count as 0, beyond ~71 minutes saturate.
  void record(std::chrono::nanoseconds elapsed);
  void record_us(std::uint64_t microseconds);
  void merge(const LatencyHistogram& other);
  void reserve(std::size_t samples) { samples_.reserve(samples); }
  void clear();

  std::size_t count() const { return samples_.size(); }
  // p in (0, 100]; anything else is a programmer error (std::invalid_argument).
  std::uint64_t percentile_us(double p) const;
  LatencySummary summary() const;

 private:
  void sort_if_needed() const;

  // Sorted lazily by the first percentile query after a change.
  mutable std::vector<std::uint32_t> samples_;
  mutable bool sorted_ = true;
  std::uint64_t sum_us_ = 0;
};

// {"count":n,"min_us":..,"mean_us":..,"p50_us":..,"p99_us":..,"p999_us":..,"max_us":..}
nlohmann::json to_json(const LatencySummary& summary);
// One human-readable line: "p50 123 us  p99 456 us  p99.9 789 us  (max 1000 us, n=10000)".
std::string describe(const LatencySummary& summary);

}  // namespace cardperso::bench
