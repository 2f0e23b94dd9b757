#pragma once
// In-memory runs still put every frame through the real codec, so what one core hands to another
// is exactly what a peer would read off the wire.
#include <cstdint>

#include "cardperso/proto/frame.hpp"
#include "cardperso/proto/messages.hpp"

namespace cardperso::testing {

// `frame` encoded and read back by `decoder` (one per direction, as a link keeps one). Throws
// std::runtime_error when it does not come back whole: a codec bug, not a case to handle.
proto::Frame through_codec(const proto::Frame& frame, proto::FrameDecoder& decoder);
// The same with a fresh decoder.
proto::Frame through_codec(const proto::Frame& frame);

// The header of an STE<->ADS (channel 1) frame of `type`; flags and length left at 0.
proto::FrameHeader ste_ads_header(proto::MessageType type, std::uint32_t session = 42);

}  // namespace cardperso::testing
