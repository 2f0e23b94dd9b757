#include "cardperso/testing/hold_after.hpp"

namespace cardperso::testing {

FrameHook HoldAfter::hook() {
  return [this](const RelayedFrame& frame, RelayOutput& out) { on_frame(frame, out); };
}

void HoldAfter::on_frame(const RelayedFrame& frame, RelayOutput& out) {
  std::lock_guard lock(mutex_);
  if (frame.direction == direction_ && holding_ == frame.connection) return;
  out.forward(frame.bytes);
  if (!holding_ && frame.direction == direction_ && frame.is(channel_, type_)) {
    holding_ = frame.connection;
    cv_.notify_all();
  }
}

bool HoldAfter::wait_holding(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return cv_.wait_for(lock, timeout, [this] { return holding_.has_value(); });
}

}  // namespace cardperso::testing
