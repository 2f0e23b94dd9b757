#pragma once
// A hostile man in the middle for the attack tests: listens on 127.0.0.1 (free port), connects each
// accepted client to the target, cuts both byte streams into protocol frames (proto/PROTOCOL.md §2)
// and hands every frame to a pluggable Attack, which decides what goes on: pass it, change it, drop
// it, hold it to send later, inject others, replay recorded ones, or cut the connection. Every frame
// received is recorded. One thread, poll(); the attack runs on that thread.
#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "cardperso/common/bytes.hpp"

namespace cardperso::attack {

// ToTarget: from the client that connected to the relay to the target it relays to (e.g. STE->DTD).
enum class Direction { ToTarget, ToClient };

const char* name(Direction d);

struct RelayedFrame {
  std::size_t connection = 0;  // accept order, from 0
  Direction direction = Direction::ToTarget;
  std::size_t index = 0;       // per connection and direction, from 0
  Bytes bytes;                 // the whole frame as received, header included

  std::uint8_t channel() const { return bytes[3]; }
  std::uint8_t type() const { return bytes[4]; }
  std::uint8_t flags() const { return bytes[5]; }
  bool sealed() const { return (bytes[5] & 1) != 0; }
  std::uint32_t session() const { return get_u32(bytes, 8); }
  ByteView payload() const { return ByteView(bytes).subspan(16); }
  bool is(std::uint8_t ch, std::uint8_t ty) const { return channel() == ch && type() == ty; }
};

// What the relay writes for one frame. Nothing written = the frame is dropped.
class RelayOutput {
 public:
  explicit RelayOutput(Direction direction) : direction_(direction) {}
  // Towards the frame's own destination (unchanged or modified).
  void forward(Bytes bytes) { writes_.emplace_back(direction_, std::move(bytes)); }
  // Towards the destination of `to` (inject, replay, reflect).
  void send(Direction to, Bytes bytes) { writes_.emplace_back(to, std::move(bytes)); }
  // After the writes, close both sides of this connection (truncation, giving up).
  void close() { close_ = true; }

  const std::vector<std::pair<Direction, Bytes>>& writes() const { return writes_; }
  bool closing() const { return close_; }

 private:
  Direction direction_;
  std::vector<std::pair<Direction, Bytes>> writes_;
  bool close_ = false;
};

using Attack = std::function<void(const RelayedFrame&, RelayOutput&)>;

// The attack that is none: every frame goes on unchanged.
void pass_through(const RelayedFrame& frame, RelayOutput& out);

class HostileRelay {
 public:
  HostileRelay(int target_port, Attack attack = pass_through);
  ~HostileRelay();
  HostileRelay(const HostileRelay&) = delete;
  HostileRelay& operator=(const HostileRelay&) = delete;

  int port() const { return port_; }
  // Every frame received so far (both directions, every connection), in arrival order.
  std::vector<RelayedFrame> recorded() const;
  std::vector<RelayedFrame> recorded(std::size_t connection, Direction direction) const;
  std::size_t connections() const { return connections_.load(); }

 private:
  struct Link;
  void run();
  bool pump(Link& link, Direction direction);
  bool write_to(Link& link, Direction direction, const Bytes& bytes);

  int target_port_;
  Attack attack_;
  int listen_fd_ = -1;
  int wake_fd_[2] = {-1, -1};
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<std::size_t> connections_{0};
  mutable std::mutex mutex_;
  std::vector<RelayedFrame> recorded_;
  std::thread thread_;
};

}  // namespace cardperso::attack
