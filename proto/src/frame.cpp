#include "cardperso/proto/frame.hpp"

#include <fmt/format.h>

#include <stdexcept>

namespace cardperso::proto {

namespace {
constexpr std::uint8_t kMagic0 = 'C';
constexpr std::uint8_t kMagic1 = 'P';
}  // namespace

Bytes encode_header(const FrameHeader& header) {
  Bytes out;
  out.reserve(kHeaderSize);
  out.push_back(kMagic0);
  out.push_back(kMagic1);
  out.push_back(header.version);
  out.push_back(static_cast<std::uint8_t>(header.channel));
  out.push_back(header.type);
  out.push_back(header.flags);
  put_u16(out, 0);
  put_u32(out, header.session);
  put_u32(out, header.length);
  return out;
}

Bytes encode_frame(FrameHeader header, ByteView payload) {
  if (payload.size() > kMaxPayload)
    throw std::length_error(fmt::format("frame payload of {} bytes exceeds the {}-byte limit", payload.size(),
                                        kMaxPayload));
  header.length = static_cast<std::uint32_t>(payload.size());
  Bytes out = encode_header(header);
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

Result<FrameHeader> decode_header(ByteView bytes) {
  if (bytes.size() != kHeaderSize)
    return fail(fmt::format("frame header is {} bytes, expected {}", bytes.size(), kHeaderSize));
  if (bytes[0] != kMagic0 || bytes[1] != kMagic1)
    return fail(fmt::format("bad frame magic 0x{:02x}{:02x} (expected 'CP'); the peer does not speak the "
                            "cardperso protocol",
                            bytes[0], bytes[1]));
  FrameHeader h;
  h.version = bytes[2];
  if (h.version != kProtocolVersion)
    return fail(fmt::format("unsupported frame version {} (this side speaks version {}); upgrade the older side",
                            h.version, kProtocolVersion));
  if (bytes[3] > static_cast<std::uint8_t>(Channel::DtdAds))
    return fail(fmt::format("unknown channel {} in frame header (known: 0 link, 1 STE-ADS, 2 DTD-ADS)", bytes[3]));
  h.channel = static_cast<Channel>(bytes[3]);
  h.type = bytes[4];
  h.flags = bytes[5];
  if ((h.flags & ~kFlagSealed) != 0)
    return fail(fmt::format("unknown flag bits 0x{:02x} in frame header (only bit 0, sealed, is defined)", h.flags));
  if (get_u16(bytes, 6) != 0) return fail("reserved bytes 6-7 of the frame header are not zero");
  h.session = get_u32(bytes, 8);
  h.length = get_u32(bytes, 12);
  if (h.length > kMaxPayload)
    return fail(fmt::format("frame announces a {}-byte payload, more than the {}-byte limit", h.length,
                            kMaxPayload));
  return h;
}

void FrameDecoder::feed(ByteView bytes) {
  if (failed_) return;  // nothing read after a rejection can be trusted; do not even buffer it
  buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
}

Result<std::optional<Frame>> FrameDecoder::next() {
  if (failed_) return fail(error_);
  if (buffer_.size() < kHeaderSize) return std::optional<Frame>{};
  auto header = decode_header(ByteView(buffer_).first(kHeaderSize));
  if (!header) {
    failed_ = true;
    error_ = header.error().message;
    buffer_.clear();
    return fail(error_);
  }
  const std::size_t total = kHeaderSize + header->length;
  if (buffer_.size() < total) return std::optional<Frame>{};
  Frame frame{*header, Bytes(buffer_.begin() + kHeaderSize, buffer_.begin() + static_cast<std::ptrdiff_t>(total))};
  buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(total));
  return std::optional<Frame>{std::move(frame)};
}

}  // namespace cardperso::proto
