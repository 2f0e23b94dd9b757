#include "cardperso/dtd/ads_failover.hpp"

#include <stdexcept>

namespace cardperso::dtd {

AdsFailover::AdsFailover(AdsFailoverOptions options, std::uint64_t seed)
    : options_(std::move(options)), backoff_(options_.backoff, seed) {
  if (options_.addresses.empty()) throw std::invalid_argument("AdsFailover needs at least one ADS address");
}

AdsFailover::AfterFailure AdsFailover::attempt_failed() {
  AfterFailure out{.failed = next_, .wait = std::nullopt};
  if (next_ + 1 < size()) {
    ++next_;  // the next address at once: another ADS may well be up
    return out;
  }
  // Every address refused: wait before the next round, so a DTD does not spin on dead servers.
  out.wait = backoff_.next();
  next_ = 0;
  return out;
}

void AdsFailover::connected(Clock::time_point now) {
  // Every round starts at the most preferred address: a link further down the list means those
  // ahead of it did not answer.
  if (next_ > 0) ++failovers_;
  linked_ = next_;
  backoff_.reset();
  schedule_failback(now);
}

void AdsFailover::link_lost() {
  linked_.reset();
  failback_at_.reset();
  next_ = 0;
}

void AdsFailover::schedule_failback(Clock::time_point now) {
  failback_at_.reset();
  if (linked_ && *linked_ > 0 && options_.failback_every.count() > 0) failback_at_ = now + options_.failback_every;
}

std::optional<AdsFailover::Clock::time_point> AdsFailover::failback_due() const { return failback_at_; }

std::vector<std::size_t> AdsFailover::failback_candidates(Clock::time_point now, bool session_open) {
  std::vector<std::size_t> out;
  if (!failback_at_ || now < *failback_at_ || !linked_) return out;
  if (session_open) {
    schedule_failback(now);
    return out;
  }
  for (std::size_t i = 0; i < *linked_; ++i) out.push_back(i);
  return out;
}

void AdsFailover::failback_failed(Clock::time_point now) { schedule_failback(now); }

void AdsFailover::failed_back(std::size_t index, Clock::time_point now) {
  ++failbacks_;
  linked_ = index;
  next_ = index;
  schedule_failback(now);
}

}  // namespace cardperso::dtd
