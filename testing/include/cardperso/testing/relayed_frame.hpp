#pragma once
// What a FrameProxy hook sees (one whole message from one side) and what it answers with.
#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include "cardperso/common/bytes.hpp"

namespace cardperso::testing {

// ToTarget: from the client that connected to the proxy to the target it relays to (e.g. STE->DTD).
enum class Direction { ToTarget, ToClient };

const char* name(Direction d);

struct RelayedFrame {
  std::size_t connection = 0;  // accept order, from 0
  Direction direction = Direction::ToTarget;
  std::size_t index = 0;       // per connection and direction, from 0
  Bytes bytes;                 // the whole message as received, header included

  // Header fields of a protocol frame (proto/PROTOCOL.md §2); meaningless in other framings.
  std::uint8_t channel() const { return bytes[3]; }
  std::uint8_t type() const { return bytes[4]; }
  std::uint8_t flags() const { return bytes[5]; }
  bool sealed() const { return (bytes[5] & 1) != 0; }
  std::uint32_t session() const { return get_u32(bytes, 8); }
  ByteView payload() const { return ByteView(bytes).subspan(16); }
  bool is(std::uint8_t ch, std::uint8_t ty) const { return channel() == ch && type() == ty; }
};

// What the proxy writes for one frame. Nothing written = the frame is dropped.
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

// Runs on the proxy's thread, one frame at a time.
using FrameHook = std::function<void(const RelayedFrame&, RelayOutput&)>;
// Sees every chunk as it was received, before it is cut into frames, and may change it (cut or
// corrupt below the frame layer). Runs on the proxy's thread.
using BytesHook = std::function<void(std::size_t connection, Direction direction, Bytes& chunk)>;

// The hook that is none: every frame goes on unchanged.
void pass_through(const RelayedFrame& frame, RelayOutput& out);

}  // namespace cardperso::testing
