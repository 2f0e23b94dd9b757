#pragma once
// A TCP proxy for the end-to-end tests: listens on 127.0.0.1 (free port), connects each accepted
// client to the target, forwards whole protocol frames (proto/PROTOCOL.md §2) both ways and keeps a
// copy of every byte. It can freeze one direction after a chosen frame, so a test gets a reliable
// point "this frame arrived, the next ones are held" to kill a process at. One thread, poll().
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "cardperso/common/bytes.hpp"

namespace cardperso::e2e {

struct CapturedConnection {
  Bytes upstream;    // client -> target, every byte received from the client
  Bytes downstream;  // target -> client
};

struct FrameRef {
  std::uint8_t channel = 0;
  std::uint8_t type = 0;
  std::uint8_t flags = 0;
  std::uint32_t session = 0;
  Bytes header;  // the 16 header bytes as sent
  Bytes payload;
};

// Splits a captured byte stream into frames; a trailing partial frame is ignored.
std::vector<FrameRef> split_frames(ByteView stream);

class CapturingProxy {
 public:
  explicit CapturingProxy(int target_port);
  ~CapturingProxy();
  CapturingProxy(const CapturingProxy&) = delete;
  CapturingProxy& operator=(const CapturingProxy&) = delete;

  int port() const { return port_; }
  // After forwarding the first client->target frame with this channel and type, hold every later
  // client->target byte (the connection stays open).
  void freeze_upstream_after(std::uint8_t channel, std::uint8_t type);
  bool wait_frozen(std::chrono::milliseconds timeout);
  std::vector<CapturedConnection> captured() const;

 private:
  struct Link;
  void run();
  bool pump(Link& link, bool upstream);

  int listen_fd_ = -1;
  int wake_fd_[2] = {-1, -1};
  int target_port_;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  mutable std::mutex mutex_;
  std::condition_variable frozen_cv_;
  std::optional<std::pair<std::uint8_t, std::uint8_t>> freeze_after_;
  bool frozen_ = false;
  std::vector<CapturedConnection> captured_;
  std::thread thread_;
};

}  // namespace cardperso::e2e
