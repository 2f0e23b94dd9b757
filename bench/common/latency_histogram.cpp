#include "latency_histogram.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace cardperso::bench {

void LatencyHistogram::record(std::chrono::nanoseconds elapsed) {
  const auto ns = elapsed.count();
  record_us(ns <= 0 ? 0 : static_cast<std::uint64_t>((ns + 500) / 1000));
}

void LatencyHistogram::record_us(std::uint64_t microseconds) {
  const auto clamped = static_cast<std::uint32_t>(
      std::min<std::uint64_t>(microseconds, std::numeric_limits<std::uint32_t>::max()));
  if (!samples_.empty() && clamped < samples_.back()) sorted_ = false;
  samples_.push_back(clamped);
  sum_us_ += clamped;
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
  if (other.samples_.empty()) return;
  samples_.insert(samples_.end(), other.samples_.begin(), other.samples_.end());
  sum_us_ += other.sum_us_;
  sorted_ = false;
}

void LatencyHistogram::clear() {
  samples_.clear();
  sorted_ = true;
  sum_us_ = 0;
}

void LatencyHistogram::sort_if_needed() const {
  if (sorted_) return;
  std::sort(samples_.begin(), samples_.end());
  sorted_ = true;
}

std::uint64_t LatencyHistogram::percentile_us(double p) const {
  if (!(p > 0.0 && p <= 100.0)) throw std::invalid_argument("percentile must be in (0, 100]");
  if (samples_.empty()) return 0;
  sort_if_needed();
  const double n = static_cast<double>(samples_.size());
  // The small epsilon keeps 99.9 % of 1000 at rank 999 despite binary rounding of 0.999 * 1000.
  auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * n - 1e-9));
  rank = std::clamp<std::size_t>(rank, 1, samples_.size());
  return samples_[rank - 1];
}

LatencySummary LatencyHistogram::summary() const {
  LatencySummary s;
  s.count = samples_.size();
  if (s.count == 0) return s;
  sort_if_needed();
  s.min_us = samples_.front();
  s.max_us = samples_.back();
  s.mean_us = static_cast<double>(sum_us_) / static_cast<double>(s.count);
  s.p50_us = percentile_us(50.0);
  s.p99_us = percentile_us(99.0);
  s.p999_us = percentile_us(99.9);
  return s;
}

nlohmann::json to_json(const LatencySummary& s) {
  return nlohmann::json{{"count", s.count},   {"min_us", s.min_us}, {"mean_us", std::round(s.mean_us * 10) / 10},
                        {"p50_us", s.p50_us}, {"p99_us", s.p99_us}, {"p999_us", s.p999_us},
                        {"max_us", s.max_us}};
}

std::string describe(const LatencySummary& s) {
  return fmt::format("p50 {} us  p99 {} us  p99.9 {} us  (mean {:.1f} us, max {} us, n={})", s.p50_us, s.p99_us,
                     s.p999_us, s.mean_us, s.max_us, s.count);
}

}  // namespace cardperso::bench
