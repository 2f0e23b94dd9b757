#include "cardperso/testing/codec_round_trip.hpp"

#include <stdexcept>

namespace cardperso::testing {

proto::Frame through_codec(const proto::Frame& frame, proto::FrameDecoder& decoder) {
  decoder.feed(proto::encode_frame(frame.header, frame.payload));
  auto r = decoder.next();
  if (!r || !*r) throw std::runtime_error("frame did not survive the codec");
  return std::move(**r);
}

proto::Frame through_codec(const proto::Frame& frame) {
  proto::FrameDecoder decoder;
  return through_codec(frame, decoder);
}

proto::FrameHeader ste_ads_header(proto::MessageType type, std::uint32_t session) {
  proto::FrameHeader h;
  h.channel = proto::Channel::SteAds;
  h.type = static_cast<std::uint8_t>(type);
  h.session = session;
  return h;
}

}  // namespace cardperso::testing
