#pragma once
// How a proxied byte stream is cut into messages: the cardperso protocol's frames (16-byte header,
// proto/include/cardperso/proto/frame.hpp) or vpcd's messages (2-byte length + payload).
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "cardperso/common/bytes.hpp"

namespace cardperso::testing {

// The size of the whole message at the front of `stream`; 0 when more bytes are needed; nullopt when
// the stream is not in this framing (the proxy then passes it on untouched: the receiver must judge it).
using Framing = std::function<std::optional<std::size_t>(ByteView stream)>;

Framing protocol_frames();
Framing vpcd_messages();

// One protocol frame cut from a captured stream.
struct FrameRef {
  std::uint8_t channel = 0;
  std::uint8_t type = 0;
  std::uint8_t flags = 0;
  std::uint32_t session = 0;
  Bytes header;  // the 16 header bytes as sent
  Bytes payload;
};

// Splits a captured byte stream into protocol frames; stops at a trailing partial frame or at
// bytes that are not a frame.
std::vector<FrameRef> split_frames(ByteView stream);

}  // namespace cardperso::testing
