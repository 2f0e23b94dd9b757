#pragma once
// Hellos per source address (net/source_address.hpp) as a token bucket: each connection that reaches
// the hello spends a token; tokens come back at `rate` per second up to `burst`. A DTD reconnecting
// after a network blip fits in the burst; a client hammering the ADS with hellos is refused with
// Error Busy before any database or crypto work. Pure: time is a parameter, no I/O, no logging — the
// verdict says when a (rate-limited) log line is due and how many refusals it covers.
//
// The table is bounded: beyond max_sources the least recently seen source is forgotten, which can
// only favour that source (it starts again with a full bucket), so an attacker cycling addresses
// gains nothing over using fresh ones and cannot grow the ADS's memory.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <mutex>
#include <string>
#include <unordered_map>

namespace cardperso::ads {

struct HelloRateOptions {
  double rate_per_second = 5;  // 0: no limit
  double burst = 20;           // at least 1 when rate_per_second > 0
  std::size_t max_sources = 4096;
  std::chrono::milliseconds log_interval{10'000};  // one refusal line per source per interval
};

class HelloRateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  struct Verdict {
    bool allowed = true;
    // Refused, and a log line is due now: it should report this many refusals of the source (this
    // one included) since its previous line. 0: refused quietly (or allowed).
    std::uint64_t log_refusals = 0;
  };

  // Throws std::invalid_argument on a negative rate, a burst below 1 with a rate, or max_sources 0
  // (validated options are a programmer's duty; the daemon checks its flags first).
  explicit HelloRateLimiter(HelloRateOptions options);

  Verdict admit(const std::string& source, Clock::time_point now);

  bool enabled() const { return options_.rate_per_second > 0; }
  const HelloRateOptions& options() const { return options_; }
  std::size_t tracked_sources() const;
  std::uint64_t refused() const;

 private:
  struct Bucket {
    double tokens = 0;
    Clock::time_point refilled;
    Clock::time_point last_log;
    bool logged = false;
    std::uint64_t refusals_since_log = 0;
    std::list<std::string>::iterator recency;
  };

  const HelloRateOptions options_;
  mutable std::mutex mutex_;  // connections may run on several threads
  std::unordered_map<std::string, Bucket> buckets_;
  std::list<std::string> recency_;  // front: most recently seen
  std::uint64_t refused_ = 0;
};

}  // namespace cardperso::ads
