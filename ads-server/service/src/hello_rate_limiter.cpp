#include "cardperso/ads/service/hello_rate_limiter.hpp"

#include <algorithm>
#include <stdexcept>

namespace cardperso::ads {

HelloRateLimiter::HelloRateLimiter(HelloRateOptions options) : options_(options) {
  if (options_.rate_per_second < 0) throw std::invalid_argument("HelloRateLimiter: negative rate");
  if (options_.rate_per_second > 0 && options_.burst < 1) throw std::invalid_argument("HelloRateLimiter: burst below 1");
  if (options_.max_sources == 0) throw std::invalid_argument("HelloRateLimiter: max_sources is 0");
  if (options_.log_interval.count() <= 0) throw std::invalid_argument("HelloRateLimiter: log_interval not positive");
}

HelloRateLimiter::Verdict HelloRateLimiter::admit(const std::string& source, Clock::time_point now) {
  if (!enabled()) return {};
  std::lock_guard lock(mutex_);
  auto it = buckets_.find(source);
  if (it == buckets_.end()) {
    if (buckets_.size() >= options_.max_sources) {
      buckets_.erase(recency_.back());
      recency_.pop_back();
    }
    recency_.push_front(source);
    Bucket fresh;
    fresh.tokens = options_.burst;
    fresh.refilled = now;
    fresh.recency = recency_.begin();
    it = buckets_.emplace(source, fresh).first;
  } else {
    recency_.splice(recency_.begin(), recency_, it->second.recency);
  }
  Bucket& b = it->second;
  if (now > b.refilled) {
    const double elapsed = std::chrono::duration<double>(now - b.refilled).count();
    b.tokens = std::min(options_.burst, b.tokens + elapsed * options_.rate_per_second);
    b.refilled = now;
  }
  if (b.tokens >= 1) {
    b.tokens -= 1;
    return {};
  }
  ++refused_;
  ++b.refusals_since_log;
  if (b.logged && now - b.last_log < options_.log_interval) return {.allowed = false, .log_refusals = 0};
  const std::uint64_t count = b.refusals_since_log;
  b.logged = true;
  b.last_log = now;
  b.refusals_since_log = 0;
  return {.allowed = false, .log_refusals = count};
}

std::size_t HelloRateLimiter::tracked_sources() const {
  std::lock_guard lock(mutex_);
  return buckets_.size();
}

std::uint64_t HelloRateLimiter::refused() const {
  std::lock_guard lock(mutex_);
  return refused_;
}

}  // namespace cardperso::ads
