#pragma once
// The frame layer of the cardperso wire protocol (proto/PROTOCOL.md §Framing). Sans-I/O: bytes in,
// frames out; the Asio and serial adapters only move bytes.
//
// Header, 16 bytes, big-endian:
//   0  magic      2  'C' 'P'
//   2  version    1  protocol version (kProtocolVersion)
//   3  channel    1  Channel
//   4  type       1  MessageType
//   5  flags      1  bit 0: payload is sealed (AES-128-GCM); other bits must be 0
//   6  reserved   2  must be 0
//   8  session    4  session id chosen by the ADS (0 before it has chosen one)
//   12 length     4  payload length, at most kMaxPayload
#include <cstdint>
#include <deque>
#include <optional>
#include <string>

#include "cardperso/common/bytes.hpp"
#include "cardperso/common/result.hpp"

namespace cardperso::proto {

inline constexpr std::uint8_t kProtocolVersion = 2;
inline constexpr std::size_t kHeaderSize = 16;
inline constexpr std::size_t kMaxPayload = 64 * 1024;

enum class Channel : std::uint8_t {
  LinkControl = 0,  // hop-by-hop: DTD<->ADS hello/keepalive, STE<->DTD local link
  SteAds = 1,       // end to end STE<->ADS, relayed by the DTD, sealed under SK_S after the handshake
  DtdAds = 2,       // DTD<->ADS, sealed under SK_D
};

struct FrameHeader {
  std::uint8_t version = kProtocolVersion;
  Channel channel = Channel::LinkControl;
  std::uint8_t type = 0;
  std::uint8_t flags = 0;
  std::uint32_t session = 0;
  std::uint32_t length = 0;
};

inline constexpr std::uint8_t kFlagSealed = 0x01;

struct Frame {
  FrameHeader header;
  Bytes payload;
};

Bytes encode_header(const FrameHeader& header);
// Encodes header (length taken from the payload) and payload. A payload over kMaxPayload is a
// programmer error and throws std::length_error.
Bytes encode_frame(FrameHeader header, ByteView payload);
// Parses exactly kHeaderSize bytes; says why it rejects (bad magic, unknown version/channel, flags,
// reserved bits, oversize length).
Result<FrameHeader> decode_header(ByteView bytes);

// Incremental decoder: feed any split of the byte stream, pull whole frames. After the first error
// the decoder stays failed (the connection must be closed): a stream that lied once is not resynchronised.
class FrameDecoder {
 public:
  void feed(ByteView bytes);
  // A frame, nothing yet (nullopt), or the reason the stream is rejected.
  Result<std::optional<Frame>> next();
  bool failed() const { return failed_; }
  std::size_t buffered() const { return buffer_.size(); }

 private:
  Bytes buffer_;
  bool failed_ = false;
  std::string error_;
};

}  // namespace cardperso::proto
