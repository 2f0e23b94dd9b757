#pragma once
// The vpcd <-> virtual card wire format, without any I/O (docs/cards.md §3.2):
// every message in both directions is a 2-byte big-endian length followed by the payload. From vpcd,
// a 1-byte payload is a control command (power off/on, reset, get ATR); anything longer is a command
// APDU. The card answers GET ATR and APDUs with one message each, and never speaks first.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include "cardperso/common/bytes.hpp"

namespace cardperso::cardsim {

enum class VpcdControl : std::uint8_t { PowerOff = 0x00, PowerOn = 0x01, Reset = 0x02, GetAtr = 0x04 };

struct VpcdApdu {
  Bytes command;
};

// A control byte vpcd does not define is kept, so the link can log it and carry on.
struct VpcdUnknownControl {
  std::uint8_t code = 0;
};

using VpcdMessage = std::variant<VpcdControl, VpcdApdu, VpcdUnknownControl>;

// Extended-length APDU: 4-byte header + 3-byte Lc + 65535 data + 2/3-byte Le stays below this.
inline constexpr std::size_t kVpcdMaxPayload = 65536 + 5;

class VpcdDecoder {
 public:
  // max_payload bounds what one frame may announce; the 16-bit length field caps it at 65535 anyway,
  // a smaller bound lets a caller refuse anything larger than the APDUs it can handle.
  explicit VpcdDecoder(std::size_t max_payload = kVpcdMaxPayload) : max_payload_(max_payload) {}

  // Appends bytes received from the socket. After an error, further bytes are ignored.
  void feed(ByteView data);
  // The next complete message, or nullopt when more bytes are needed or the stream is broken
  // (check error()).
  std::optional<VpcdMessage> next();
  // Set once the stream carried a frame that cannot be valid (length 0 or above max_payload);
  // the connection should be dropped. Empty while the stream is fine.
  const std::string& error() const { return error_; }
  // Bytes buffered but not yet returned as a message.
  std::size_t buffered() const { return buffer_.size() - read_pos_; }

 private:
  std::size_t max_payload_;
  Bytes buffer_;
  std::size_t read_pos_ = 0;
  std::string error_;
};

// One reply frame (ATR or R-APDU). Fails (programmer error) above 65535 bytes.
Bytes encode_vpcd_reply(ByteView payload);

}  // namespace cardperso::cardsim
