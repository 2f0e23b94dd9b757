#pragma once
// The osmocom CTRL protocol as osmo-hlr speaks it on its CTRL port (4259), sans-I/O. Each message is
// an IPA frame: a 16-bit big-endian length, protocol 0xEE (osmocom extension), extension 0x00 (CTRL),
// then ASCII text; the length counts the extension byte and the text. Requests are
//   GET <id> <variable>            SET <id> <variable> <value>
// and the HLR answers GET_REPLY / SET_REPLY <id> <variable> <value>, or ERROR <id> <reason>; it may also
// send TRAP messages of its own, which carry no id of ours.
//
// A SET of a subscriber's aud3g carries K and OPc in hex, and a GET of info-all returns them: the bytes
// of a command and the text of a reply are wiped when dropped, and never formatted into a log.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "cardperso/common/bytes.hpp"
#include "cardperso/common/result.hpp"
#include "cardperso/common/secret_bytes.hpp"

namespace cardperso::ads::hlr {

inline constexpr std::uint8_t kIpaProtoOsmo = 0xEE;
inline constexpr std::uint8_t kIpaExtCtrl = 0x00;
// The 16-bit length bounds a message; the text is further bounded by what osmo-hlr sends (an info-all
// reply is a few hundred bytes).
inline constexpr std::size_t kMaxCtrlMessage = 0xFFFF;

enum class CtrlVerb { Get, Set };

// One framed request. Variables and values are checked: printable ASCII, no spaces in a variable (the
// text protocol has no escaping), so a value from a record cannot smuggle a second command in.
Result<SecretBytes> encode_ctrl_request(CtrlVerb verb, std::uint32_t id, std::string_view variable,
                                        std::string_view value = {});

// A reply's text, wiped when the reply is dropped.
class CtrlText {
 public:
  CtrlText() = default;
  explicit CtrlText(std::string_view text) : text_(text) {}
  CtrlText(const CtrlText& other) : text_(other.text_) {}
  CtrlText(CtrlText&& other) noexcept : text_(std::move(other.text_)) { other.wipe(); }
  CtrlText& operator=(const CtrlText& other);
  CtrlText& operator=(CtrlText&& other) noexcept;
  ~CtrlText() { wipe(); }
  std::string_view view() const { return text_; }

 private:
  void wipe() noexcept;
  std::string text_;
};

struct CtrlReply {
  enum class Kind { GetReply, SetReply, Error, Trap };
  Kind kind = Kind::Error;
  std::uint32_t id = 0;   // not for Trap
  std::string variable;   // empty for Error
  CtrlText value;         // Error: the HLR's reason
};

// Reassembles messages from a byte stream. A frame of another IPA protocol (osmo-hlr sends none on
// CTRL) is skipped; a CTRL message that does not parse is an error: the stream cannot be trusted.
class CtrlReader {
 public:
  void feed(ByteView bytes);
  // The next whole message, nothing when more bytes are needed, or an error.
  Result<std::optional<CtrlReply>> next();
  ~CtrlReader();

 private:
  void consume(std::size_t n);
  Bytes buffer_;
};

// Parses one message's text ("SET_REPLY 7 subscriber.create 12").
Result<CtrlReply> parse_ctrl_text(std::string_view text);

}  // namespace cardperso::ads::hlr
