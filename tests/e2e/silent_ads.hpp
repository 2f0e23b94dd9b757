#pragma once
// A stand-in ADS that stops answering: it accepts the DTD, answers LinkHello with LinkHelloAck(1)
// like the real server, then reads every later frame (H1, ...) and never answers. Lets a test see the
// STE give up with "Refused: timeout" instead of waiting forever. One thread, poll().
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace cardperso::e2e {

class SilentAds {
 public:
  SilentAds();
  ~SilentAds();
  SilentAds(const SilentAds&) = delete;
  SilentAds& operator=(const SilentAds&) = delete;

  int port() const { return port_; }
  // Waits until a frame of this channel/type has arrived (e.g. channel 1 type 0x11 = H1).
  bool wait_for_frame(std::uint8_t channel, std::uint8_t type, std::chrono::milliseconds timeout);

 private:
  void run();

  int listen_fd_ = -1;
  int wake_fd_[2] = {-1, -1};
  int port_ = 0;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::pair<std::uint8_t, std::uint8_t>> received_;
  std::thread thread_;
};

}  // namespace cardperso::e2e
