#pragma once
// A stand-in ADS that stops answering: it accepts the DTD, answers LinkHello with LinkHelloAck(1)
// like the real server, then reads every later frame (H1, ...) and never answers. Lets a test see the
// STE give up with "Refused: timeout" instead of waiting forever. One thread, poll().
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "cardperso/testing/loopback.hpp"

namespace cardperso::e2e {

class SilentAds {
 public:
  SilentAds();
  SilentAds(SilentAds&&) = delete;  // and so no copies: its thread holds `this`
  ~SilentAds();

  int port() const { return listener_.port; }
  // Waits until a frame of this channel/type has arrived (e.g. channel 1 type 0x11 = H1).
  bool wait_for_frame(std::uint8_t channel, std::uint8_t type, std::chrono::milliseconds timeout);

 private:
  void run();

  testing::Listener listener_;
  testing::WakePipe wake_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::pair<std::uint8_t, std::uint8_t>> received_;
  std::thread thread_;
};

}  // namespace cardperso::e2e
