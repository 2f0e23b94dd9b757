#pragma once
// What the sessions report to the server's metrics (the daemon exports them; see docs/operations.md,
// "Metrics"). Called on the io thread. Labels stay bounded: a refusal is named by its protocol error
// code, never by free text that could carry a serial or an address.
#include <chrono>
#include <string_view>

#include "cardperso/ads/store/session_store.hpp"
#include "cardperso/proto/error_codes.hpp"

namespace cardperso::ads {

class SessionMetrics {
 public:
  virtual ~SessionMetrics() = default;
  virtual void established(std::chrono::duration<double> handshake) = 0;
  virtual void ended(SessionOutcome outcome) = 0;
  virtual void refused(proto::ErrorCode code) = 0;
  virtual void retailer_locked() = 0;
};

}  // namespace cardperso::ads
