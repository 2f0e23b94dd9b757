#pragma once
// Every message of the cardperso protocol and its byte layout (proto/PROTOCOL.md §Messages).
// Layouts are fixed, big-endian, without TLV. decode() is strict: exact length, bounded and
// validated strings, no trailing bytes; it says why it rejects.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "cardperso/common/bytes.hpp"
#include "cardperso/common/result.hpp"
#include "cardperso/common/secret_bytes.hpp"
#include "cardperso/proto/error_codes.hpp"
#include "cardperso/proto/frame.hpp"

namespace cardperso::proto {

enum class MessageType : std::uint8_t {
  // Link control, channel 0, clear, hop by hop.
  LinkHello = 0x01,           // DTD->ADS
  LinkHelloAck = 0x02,        // ADS->DTD, DTD->STE
  Keepalive = 0x03,           // either way
  SteHello = 0x04,            // STE->DTD (local link)
  SessionKeyHandover = 0x05,  // L1, STE->DTD (local link)
  TerminalStatus = 0x06,      // STE->DTD (local link): what the terminal's display shows, as a code
  // Handshake, channel 1, clear, relayed by the DTD.
  H1 = 0x11,  // STE->ADS
  H2 = 0x12,  // ADS->STE
  H3 = 0x13,  // STE->ADS
  H4 = 0x14,  // ADS->STE
  // Sealed application messages (channel 1 under SK_S, channel 2 under SK_D). Contents are defined
  // by later issues; the secure channel treats them as opaque plaintext.
  AppData = 0x20,
  CustomerDetails = 0x21,  // C1 DTD->ADS
  Decision = 0x22,         // C2 ADS->DTD
  CardInserted = 0x23,     // P1 STE->ADS
  Script = 0x24,           // P2 ADS->STE
  ScriptResult = 0x25,     // P3 STE->ADS
  Done = 0x26,             // P4 ADS->STE, ADS->DTD
  Receipt = 0x27,          // ADS->DTD
  Terminate = 0x28,        // either side: end of session, both erase the keys
  Echo = 0x29,             // test message: the peer's core delivers it, the application may echo it
  CardCheck = 0x2A,        // K1 ADS->STE: what to show before writing, and the card's challenge
  CardCheckAnswer = 0x2B,  // K2 STE->ADS: the keypad's OK / cancel and the card's proof
  // Any channel, clear, either direction.
  Error = 0x7f,
};

std::optional<MessageType> to_message_type(std::uint8_t raw);
std::string_view name(MessageType type);
// Types sent only sealed (flag bit 0), after the handshake.
bool is_sealed_type(MessageType type);
// Whether the type may appear on the channel at all.
bool allowed_on(MessageType type, Channel channel);

using Block16 = std::array<std::uint8_t, 16>;
using KeyShare = std::array<std::uint8_t, 32>;  // an X25519 public key (RFC 7748)
using DeviceKey = std::array<std::uint8_t, 32>;  // a terminal's Ed25519 public key (RFC 8032)
using DeviceSignature = std::array<std::uint8_t, 64>;

inline constexpr std::size_t kMaxNodeId = 64;
inline constexpr std::size_t kMaxSerial = 20;
inline constexpr std::size_t kMaxErrorText = 256;

// LinkHello (DTD->ADS) and SteHello (STE->DTD):
//   0 min_version 1 | 1 max_version 1 | 2 id_len 1 (1..64) | 3 id, printable ASCII
struct LinkHello {
  static constexpr MessageType kType = MessageType::LinkHello;
  std::uint8_t min_version = kProtocolVersion;
  std::uint8_t max_version = kProtocolVersion;
  std::string node_id;
  Bytes encode() const;
  static Result<LinkHello> decode(ByteView payload);
};
struct SteHello {
  static constexpr MessageType kType = MessageType::SteHello;
  std::uint8_t min_version = kProtocolVersion;
  std::uint8_t max_version = kProtocolVersion;
  std::string node_id;
  Bytes encode() const;
  static Result<SteHello> decode(ByteView payload);
};

// LinkHelloAck: 0 version 1 (the chosen version)
struct LinkHelloAck {
  static constexpr MessageType kType = MessageType::LinkHelloAck;
  std::uint8_t version = kProtocolVersion;
  Bytes encode() const;
  static Result<LinkHelloAck> decode(ByteView payload);
};

// Keepalive: empty payload.
struct Keepalive {
  static constexpr MessageType kType = MessageType::Keepalive;
  Bytes encode() const { return {}; }
  static Result<Keepalive> decode(ByteView payload);
};

// L1 SessionKeyHandover (STE->DTD): 0 session 4 | 4 transcript hash T4 32 | 36 SK_D sealed under the
// pairing key 32 (pairing.hpp)  (68 bytes)
struct SessionKeyHandover {
  static constexpr MessageType kType = MessageType::SessionKeyHandover;
  static constexpr std::size_t kSize = 68;
  std::uint32_t session = 0;
  std::array<std::uint8_t, 32> transcript_hash{};
  std::array<std::uint8_t, 32> sealed_sk_d{};
  Bytes encode() const;
  static Result<SessionKeyHandover> decode(ByteView payload);
};

// H1 (STE->ADS): 0 version 1 | 1 key_version 1 | 2 serial_len 1 (1..20) | 3 serial, ASCII digits |
//                then RN2 16 | RN4 16 | RN6 16 | the STE's ephemeral X25519 share 32 |
//                the terminal's device key (Ed25519 public key) 32        (3 + serial_len + 112 bytes)
struct HandshakeH1 {
  static constexpr MessageType kType = MessageType::H1;
  std::uint8_t version = kProtocolVersion;
  std::uint8_t key_version = 0;
  std::string serial;
  Block16 rn2{}, rn4{}, rn6{};
  KeyShare share{};
  DeviceKey terminal{};
  Bytes encode() const;
  static Result<HandshakeH1> decode(ByteView payload);
};

// H2 (ADS->STE): 0 session 4 (non-zero, equal to the header's) | 4 RN1 16 | 20 RN3 16 | 36 RN5 16 |
//                52 the ADS's ephemeral X25519 share 32  (84 bytes)
struct HandshakeH2 {
  static constexpr MessageType kType = MessageType::H2;
  std::uint32_t session = 0;
  Block16 rn1{}, rn3{}, rn5{};
  KeyShare share{};
  Bytes encode() const;
  static Result<HandshakeH2> decode(ByteView payload);
};

// H3 (STE->ADS): 0 AES_K_RA(RN1) 16 | 16 confirm_S by STE 16 | 32 confirm_D by STE 16 |
//                48 the terminal's Ed25519 signature of T3 64  (112 bytes)
struct HandshakeH3 {
  static constexpr MessageType kType = MessageType::H3;
  Block16 retailer_cryptogram{}, confirm_s{}, confirm_d{};
  DeviceSignature terminal_signature{};
  Bytes encode() const;
  static Result<HandshakeH3> decode(ByteView payload);
};

// H4 (ADS->STE): 0 AES_K_IA(RN2) 16 | 16 confirm_S by ADS 16 | 32 confirm_D by ADS 16  (48 bytes)
struct HandshakeH4 {
  static constexpr MessageType kType = MessageType::H4;
  Block16 issuer_cryptogram{}, confirm_s{}, confirm_d{};
  Bytes encode() const;
  static Result<HandshakeH4> decode(ByteView payload);
};

// Error (any channel, clear): 0 code 2 (non-zero) | 2 text_len 2 (0..256) | 4 text, printable ASCII
// The text never carries a secret.
struct ErrorMessage {
  static constexpr MessageType kType = MessageType::Error;
  ErrorCode code = ErrorCode::Internal;
  std::string text;
  Bytes encode() const;
  static Result<ErrorMessage> decode(ByteView payload);
  // Builds a valid message from any text: truncated to 256 bytes, non-printable bytes become '?'.
  static ErrorMessage make(ErrorCode code, std::string_view text);
};
using LinkError = ErrorMessage;  // the Error message on channel 0

// Terminate plaintext (inside the sealed payload): 0 code 2 (ErrorCode, 0 = normal end)
struct TerminateBody {
  static constexpr MessageType kType = MessageType::Terminate;
  ErrorCode code = ErrorCode::None;
  Bytes encode() const;
  static Result<TerminateBody> decode(ByteView plaintext);
};

// Builds a clear frame of the message's type. encode() of a message whose fields break the bounds
// is a programmer error and throws std::invalid_argument.
template <class Message>
Frame make_frame(Channel channel, std::uint32_t session, const Message& message) {
  Frame f;
  f.header.channel = channel;
  f.header.type = static_cast<std::uint8_t>(Message::kType);
  f.header.session = session;
  f.payload = message.encode();
  f.header.length = static_cast<std::uint32_t>(f.payload.size());
  return f;
}

}  // namespace cardperso::proto
