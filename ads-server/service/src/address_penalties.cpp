#include "cardperso/ads/service/address_penalties.hpp"

#include <algorithm>
#include <stdexcept>

namespace cardperso::ads {

AddressPenalties::AddressPenalties(AddressPenaltyOptions options) : options_(options) {
  if (options_.max_failures < 0) throw std::invalid_argument("AddressPenalties: negative max_failures");
  if (options_.window.count() <= 0 || options_.backoff.count() <= 0 || options_.max_backoff < options_.backoff)
    throw std::invalid_argument("AddressPenalties: window and back-off must be positive, max_backoff >= backoff");
  if (options_.max_sources == 0) throw std::invalid_argument("AddressPenalties: max_sources is 0");
}

void AddressPenalties::make_room(Clock::time_point now) {
  // Forget what no longer matters: no back-off running and the failure window over.
  std::erase_if(entries_, [&](const auto& kv) {
    const Entry& e = kv.second;
    return e.blocked_until <= now && now - e.window_start >= options_.window;
  });
}

std::optional<std::chrono::seconds> AddressPenalties::record_failure(const std::string& source, Clock::time_point now) {
  if (options_.max_failures == 0) return std::nullopt;
  std::lock_guard lock(mutex_);
  auto it = entries_.find(source);
  if (it == entries_.end()) {
    if (entries_.size() >= options_.max_sources) make_room(now);
    if (entries_.size() >= options_.max_sources) return std::nullopt;
    it = entries_.emplace(source, Entry{0, now, {}, 0}).first;
  }
  Entry& e = it->second;
  if (now - e.window_start >= options_.window) {
    e.failures = 0;
    e.window_start = now;
  }
  if (++e.failures < options_.max_failures) return std::nullopt;
  auto backoff = options_.backoff;
  for (int i = 0; i < e.backoffs_in_a_row && backoff < options_.max_backoff; ++i) backoff *= 2;
  backoff = std::min(backoff, options_.max_backoff);
  e.blocked_until = now + backoff;
  e.failures = 0;
  e.window_start = now;
  ++e.backoffs_in_a_row;
  ++backoffs_;
  return backoff;
}

void AddressPenalties::record_success(const std::string& source) {
  std::lock_guard lock(mutex_);
  entries_.erase(source);
}

std::optional<std::chrono::milliseconds> AddressPenalties::backed_off(const std::string& source, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(source);
  if (it == entries_.end() || it->second.blocked_until <= now) return std::nullopt;
  return std::chrono::ceil<std::chrono::milliseconds>(it->second.blocked_until - now);
}

std::uint64_t AddressPenalties::backoffs() const {
  std::lock_guard lock(mutex_);
  return backoffs_;
}

std::size_t AddressPenalties::tracked_sources() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

}  // namespace cardperso::ads
