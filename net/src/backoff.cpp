#include "cardperso/net/backoff.hpp"

#include <algorithm>

namespace cardperso::net {

Backoff::Backoff(BackoffOptions options, std::uint64_t seed)
    : options_(options), base_(std::min(options.initial, options.maximum)), rng_(seed) {
  options_.jitter = std::clamp(options_.jitter, 0.0, 1.0);
}

std::chrono::milliseconds Backoff::next() {
  const auto base = base_;
  base_ = std::min(base_ * 2, options_.maximum);
  if (options_.jitter <= 0.0) return base;
  std::uniform_real_distribution<double> factor(1.0 - options_.jitter, 1.0);
  const auto jittered = static_cast<std::chrono::milliseconds::rep>(static_cast<double>(base.count()) * factor(rng_));
  return std::chrono::milliseconds(std::max<std::chrono::milliseconds::rep>(jittered, 1));
}

void Backoff::reset() { base_ = std::min(options_.initial, options_.maximum); }

}  // namespace cardperso::net
