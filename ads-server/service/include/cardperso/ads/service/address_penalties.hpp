#pragma once
// Failures that no retailer can be held to (a refusal at H1, a terminal signature that does not
// verify) count against the address they came from (net/source_address.hpp). Past `max_failures`
// within `window` the address is backed off: its H1s are refused (Busy) without a lookup for
// `backoff`, doubled for each back-off in a row, at most `max_backoff`; then it may try again. An
// authenticated session from the address ends the run of back-offs.
//
// Pure: time is a parameter, no I/O, no logging. The table is bounded (max_sources): when it is full,
// sources with nothing pending are forgotten first; a source that cannot be tracked is not backed
// off (the hello limit still holds it).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace cardperso::ads {

struct AddressPenaltyOptions {
  int max_failures = 20;  // 0: never back off
  std::chrono::seconds window{std::chrono::minutes(10)};
  std::chrono::seconds backoff{std::chrono::minutes(1)};
  std::chrono::seconds max_backoff{std::chrono::hours(1)};
  std::size_t max_sources = 4096;
};

class AddressPenalties {
 public:
  using Clock = std::chrono::steady_clock;

  // Throws std::invalid_argument on a negative count or a window, back-off or table size of 0.
  explicit AddressPenalties(AddressPenaltyOptions options = {});

  // One anonymous failure from `source`. Returns the back-off this failure started, if it did.
  std::optional<std::chrono::seconds> record_failure(const std::string& source, Clock::time_point now);
  // An authenticated session from `source`: its failures and its run of back-offs are forgotten.
  void record_success(const std::string& source);
  // How long `source` must still wait, if it is backed off now.
  std::optional<std::chrono::milliseconds> backed_off(const std::string& source, Clock::time_point now);

  std::uint64_t backoffs() const;  // back-offs started since the start (for the shutdown log and tests)
  std::size_t tracked_sources() const;
  const AddressPenaltyOptions& options() const { return options_; }

 private:
  struct Entry {
    int failures = 0;
    Clock::time_point window_start{};
    Clock::time_point blocked_until{};
    int backoffs_in_a_row = 0;
  };
  void make_room(Clock::time_point now);

  AddressPenaltyOptions options_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
  std::uint64_t backoffs_ = 0;
};

}  // namespace cardperso::ads
