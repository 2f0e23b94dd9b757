#include "frame_edits.hpp"

#include <algorithm>
#include <stdexcept>

namespace cardperso::attack {

namespace {
std::size_t h1_after_serial(ByteView frame) {
  if (frame.size() < kHeader + 3) throw std::invalid_argument("not an H1 frame");
  return kHeader + 3 + frame[kHeader + 2];
}
void need(ByteView frame, std::size_t end) {
  if (frame.size() < end) throw std::invalid_argument("frame too short for this edit");
}
}  // namespace

std::size_t h1_serial_last(ByteView frame) { return h1_after_serial(frame) - 1; }
std::size_t h1_rn2(ByteView frame) { return h1_after_serial(frame); }
std::size_t h1_rn4(ByteView frame) { return h1_after_serial(frame) + 16; }

Bytes flip_bit(Bytes frame, std::size_t byte, unsigned bit) {
  need(frame, byte + 1);
  frame[byte] ^= static_cast<std::uint8_t>(1U << bit);
  return frame;
}

Bytes with_session(Bytes frame, std::uint32_t session) {
  need(frame, kHeader);
  for (int i = 0; i < 4; ++i) frame[kSessionField + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(session >> (24 - 8 * i));
  return frame;
}

Bytes with_channel(Bytes frame, std::uint8_t channel) {
  need(frame, kHeader);
  frame[3] = channel;
  return frame;
}

Bytes with_type(Bytes frame, std::uint8_t t) {
  need(frame, kHeader);
  frame[kTypeByte] = t;
  return frame;
}

Bytes with_block(Bytes frame, std::size_t at, ByteView block16) {
  need(frame, at + 16);
  std::copy(block16.begin(), block16.begin() + 16, frame.begin() + static_cast<std::ptrdiff_t>(at));
  return frame;
}

Bytes block_at(ByteView frame, std::size_t at) {
  need(frame, at + 16);
  return Bytes(frame.begin() + static_cast<std::ptrdiff_t>(at), frame.begin() + static_cast<std::ptrdiff_t>(at + 16));
}

Bytes xor_blocks(ByteView a, ByteView b) {
  if (a.size() != b.size()) throw std::invalid_argument("xor_blocks: sizes differ");
  Bytes out(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) out[i] = a[i] ^ b[i];
  return out;
}

namespace {
void set_length(Bytes& frame, std::uint32_t length) {
  for (int i = 0; i < 4; ++i) frame[12 + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(length >> (24 - 8 * i));
}
}  // namespace

Bytes with_oversized_length(Bytes frame) {
  need(frame, kHeader);
  set_length(frame, kMaxPayload + 1);
  return frame;
}

Bytes truncated_payload(Bytes frame, std::uint32_t length) {
  need(frame, kHeader + length);
  frame.resize(kHeader + length);
  set_length(frame, length);
  return frame;
}

}  // namespace cardperso::attack
