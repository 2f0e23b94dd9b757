#pragma once
// A man in the middle for the tests: listens on 127.0.0.1 (free port), connects each accepted client
// to the target, cuts both byte streams into messages (Framing) and hands every one to a hook that
// decides what goes on: pass it, change it, drop it, hold it to send later, inject others, or cut
// the connection. Every message and every byte received is recorded. One thread, poll(); the hooks
// run on that thread.
#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "cardperso/testing/framing.hpp"
#include "cardperso/testing/loopback.hpp"
#include "cardperso/testing/relayed_frame.hpp"

namespace cardperso::testing {

struct ProxyOptions {
  Framing framing = protocol_frames();
  FrameHook on_frame = pass_through;
  BytesHook on_bytes;        // optional
  bool single_link = false;  // one slot (a card reader): a new client replaces the current one
  int backlog = 8;
};

struct CapturedConnection {
  Bytes upstream;    // client -> target, every byte received from the client
  Bytes downstream;  // target -> client
};

class FrameProxy {
 public:
  explicit FrameProxy(int target_port, FrameHook on_frame = pass_through);
  FrameProxy(int target_port, ProxyOptions options);
  ~FrameProxy();
  FrameProxy(const FrameProxy&) = delete;
  FrameProxy& operator=(const FrameProxy&) = delete;

  int port() const { return listener_.port; }
  // Every frame received so far (both directions, every connection), in arrival order.
  std::vector<RelayedFrame> recorded() const;
  std::vector<RelayedFrame> recorded(std::size_t connection, Direction direction) const;
  // Every byte received, per connection in accept order.
  std::vector<CapturedConnection> captured() const;
  std::size_t connections() const { return connections_.load(); }

 private:
  struct Link;
  void run();
  bool pump(Link& link, Direction direction);
  bool write_to(Link& link, Direction direction, const Bytes& bytes);

  int target_port_;
  ProxyOptions options_;
  Listener listener_;
  WakePipe wake_;
  std::atomic<bool> stop_{false};
  std::atomic<std::size_t> connections_{0};
  mutable std::mutex mutex_;
  std::vector<RelayedFrame> recorded_;
  std::vector<CapturedConnection> captured_;
  std::thread thread_;
};

}  // namespace cardperso::testing
