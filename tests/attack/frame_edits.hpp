#pragma once
// Byte-level edits of whole protocol frames (header included) for the attacks, with the field
// offsets of proto/PROTOCOL.md §2 and §5 spelled out once.
#include <cstdint>

#include "cardperso/common/bytes.hpp"

namespace cardperso::attack {

inline constexpr std::size_t kHeader = 16;
inline constexpr std::uint32_t kMaxPayload = 65536;

namespace type {
inline constexpr std::uint8_t kLinkHello = 0x01, kSteHello = 0x04, kHandover = 0x05;
inline constexpr std::uint8_t kH1 = 0x11, kH2 = 0x12, kH3 = 0x13, kH4 = 0x14;
inline constexpr std::uint8_t kTerminate = 0x28, kEcho = 0x29, kError = 0x7f;
}  // namespace type

// Offsets inside the whole frame.
inline constexpr std::size_t kTypeByte = 4;
inline constexpr std::size_t kSessionField = 8;
// Sealed payload: counter (8) || ciphertext || tag (16).
inline constexpr std::size_t kCounterLastByte = kHeader + 7;
inline constexpr std::size_t kFirstCiphertextByte = kHeader + 8;
// H1: version, key version, n, serial (n), RN2, RN4, RN6.
std::size_t h1_serial_last(ByteView frame);
std::size_t h1_rn2(ByteView frame);
std::size_t h1_rn4(ByteView frame);
// H2: session (4), RN1, RN3, RN5.
inline constexpr std::size_t kH2Session = kHeader;
inline constexpr std::size_t kH2Rn1 = kHeader + 4;
inline constexpr std::size_t kH2Rn3 = kHeader + 20;
// H3 / H4: cryptogram, confirm_S, confirm_D (H3 then the terminal's signature, 64).
inline constexpr std::size_t kCryptogram = kHeader;
inline constexpr std::size_t kConfirmS = kHeader + 16;
inline constexpr std::size_t kConfirmD = kHeader + 32;
inline constexpr std::size_t kH3Signature = kHeader + 48;
inline constexpr std::size_t kH4Payload = 48;

Bytes flip_bit(Bytes frame, std::size_t byte, unsigned bit = 0);
Bytes with_session(Bytes frame, std::uint32_t session);  // the header's session field
Bytes with_channel(Bytes frame, std::uint8_t channel);
Bytes with_type(Bytes frame, std::uint8_t type);
Bytes with_block(Bytes frame, std::size_t at, ByteView block16);
Bytes block_at(ByteView frame, std::size_t at);  // 16 bytes
Bytes xor_blocks(ByteView a, ByteView b);
// The same bytes with the header's length field set to kMaxPayload + 1.
Bytes with_oversized_length(Bytes frame);
// The first `length` payload bytes of the frame, the header's length field set to match.
Bytes truncated_payload(Bytes frame, std::uint32_t length);

}  // namespace cardperso::attack
