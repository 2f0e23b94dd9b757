#include "cardperso/testing/framing.hpp"

#include "cardperso/proto/frame.hpp"

namespace cardperso::testing {

Framing protocol_frames() {
  return [](ByteView stream) -> std::optional<std::size_t> {
    if (stream.size() < proto::kHeaderSize) return 0;
    auto header = proto::decode_header(stream.first(proto::kHeaderSize));
    if (!header) return std::nullopt;
    const std::size_t whole = proto::kHeaderSize + header->length;
    return stream.size() < whole ? 0 : whole;
  };
}

Framing vpcd_messages() {
  return [](ByteView stream) -> std::optional<std::size_t> {
    if (stream.size() < 2) return 0;
    const std::size_t whole = 2 + get_u16(stream, 0);
    return stream.size() < whole ? 0 : whole;
  };
}

std::vector<FrameRef> split_frames(ByteView stream) {
  std::vector<FrameRef> frames;
  const Framing framing = protocol_frames();
  for (;;) {
    const auto whole = framing(stream);
    if (!whole || *whole == 0) break;
    FrameRef f;
    f.channel = stream[3];
    f.type = stream[4];
    f.flags = stream[5];
    f.session = get_u32(stream, 8);
    f.header.assign(stream.begin(), stream.begin() + proto::kHeaderSize);
    f.payload.assign(stream.begin() + proto::kHeaderSize, stream.begin() + static_cast<std::ptrdiff_t>(*whole));
    frames.push_back(std::move(f));
    stream = stream.subspan(*whole);
  }
  return frames;
}

}  // namespace cardperso::testing
