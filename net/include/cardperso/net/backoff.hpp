#pragma once
// Reconnect delays: exponential, capped, jittered so many DTDs restarting together do not hammer
// the ADS in lockstep. Sans-I/O: it computes delays, the caller sleeps.
#include <chrono>
#include <cstdint>
#include <random>

namespace cardperso::net {

struct BackoffOptions {
  std::chrono::milliseconds initial{100};
  std::chrono::milliseconds maximum{5'000};
  // Each delay is drawn from [base * (1 - jitter), base]; 0 disables jitter.
  double jitter = 0.2;
};

class Backoff {
 public:
  explicit Backoff(BackoffOptions options = {}, std::uint64_t seed = std::random_device{}());
  // The delay before the next attempt; the base doubles up to the maximum.
  std::chrono::milliseconds next();
  // After a success: start again from the initial delay.
  void reset();

 private:
  BackoffOptions options_;
  std::chrono::milliseconds base_;
  std::mt19937_64 rng_;
};

}  // namespace cardperso::net
