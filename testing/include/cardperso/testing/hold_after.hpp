#pragma once
// A FrameProxy hook that passes everything until it has forwarded the first frame of one channel and
// type in one direction, then holds every later frame of that connection in that direction (the
// connection stays open). A test gets a reliable point "this frame arrived, the next ones are held"
// to kill a process at.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>

#include "cardperso/testing/relayed_frame.hpp"

namespace cardperso::testing {

class HoldAfter {
 public:
  HoldAfter(Direction direction, std::uint8_t channel, std::uint8_t type)
      : direction_(direction), channel_(channel), type_(type) {}
  HoldAfter(const HoldAfter&) = delete;
  HoldAfter& operator=(const HoldAfter&) = delete;

  // The hook to give the proxy; this object must outlive the proxy.
  FrameHook hook();
  bool wait_holding(std::chrono::milliseconds timeout);

 private:
  void on_frame(const RelayedFrame& frame, RelayOutput& out);

  Direction direction_;
  std::uint8_t channel_;
  std::uint8_t type_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::optional<std::size_t> holding_;  // the connection being held
};

}  // namespace cardperso::testing
