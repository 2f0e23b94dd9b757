// Every message decoder of proto/messages.hpp. Byte 0 picks the decoder, the rest is the payload.
// Invariants: an accepted payload respects the documented bounds, re-encodes (without throwing) to
// exactly the same bytes, and travels through a frame and back unchanged; a refusal says why.
#include <algorithm>
#include <cstdint>
#include <string>

#include "cardperso/proto/messages.hpp"
#include "cardperso/proto/terminal_status.hpp"
#include "fuzz_check.hpp"

using namespace cardperso;
using namespace cardperso::proto;

namespace {

bool printable(const std::string& s) {
  for (char c : s)
    if (c < 0x20 || c > 0x7e) return false;
  return true;
}

// decode -> encode is the identity on accepted input, and the encoding decodes again.
template <class Message>
void round_trip(ByteView payload, void (*check)(const Message&)) {
  auto decoded = Message::decode(payload);
  if (!decoded) {
    FUZZ_CHECK(!decoded.error().message.empty(), "a refusal must say why");
    return;
  }
  check(*decoded);
  const Bytes encoded = decoded->encode();
  FUZZ_CHECK(encoded.size() == payload.size() && std::equal(encoded.begin(), encoded.end(), payload.begin()),
             "decode -> encode does not give back the payload");
  auto again = Message::decode(encoded);
  FUZZ_CHECK(again.ok() && again->encode() == encoded, "an encoded message does not decode again");

  // Through a frame: the frame layer carries the payload untouched.
  const Frame frame = make_frame(Channel::LinkControl, 7, *decoded);
  FrameDecoder decoder;
  decoder.feed(encode_frame(frame.header, frame.payload));
  auto next = decoder.next();
  FUZZ_CHECK(next.ok() && next->has_value() && (*next)->payload == encoded &&
                 (*next)->header.type == static_cast<std::uint8_t>(Message::kType),
             "a message does not survive its frame");
}

void no_check(const Keepalive&) {}
void check_ack(const LinkHelloAck& m) { FUZZ_CHECK(m.version != 0, "LinkHelloAck version 0 accepted"); }
template <class Hello>
void check_hello(const Hello& m) {
  FUZZ_CHECK(!m.node_id.empty() && m.node_id.size() <= kMaxNodeId && printable(m.node_id), "hello id out of bounds");
  FUZZ_CHECK(m.min_version != 0 && m.min_version <= m.max_version, "hello version range invalid");
}
void check_handover(const SessionKeyHandover& m) {
  FUZZ_CHECK(m.session != 0, "SessionKeyHandover with session 0 accepted");
}
void check_h1(const HandshakeH1& m) {
  FUZZ_CHECK(m.version != 0 && !m.serial.empty() && m.serial.size() <= kMaxSerial, "H1 out of bounds");
  for (char c : m.serial) FUZZ_CHECK(c >= '0' && c <= '9', "H1 serial holds a non-digit");
}
void check_h2(const HandshakeH2& m) { FUZZ_CHECK(m.session != 0, "H2 session 0 accepted"); }
void check_h3(const HandshakeH3&) {}
void check_h4(const HandshakeH4&) {}
void check_error(const ErrorMessage& m) {
  FUZZ_CHECK(m.code != ErrorCode::None && m.text.size() <= kMaxErrorText && printable(m.text),
             "Error message out of bounds");
}
void check_terminate(const TerminateBody&) {}
void check_status(const TerminalStatus& m) {
  FUZZ_CHECK(to_terminal_prompt(static_cast<std::uint8_t>(m.prompt)).has_value(), "TerminalStatus with an unknown prompt accepted");
  if (m.prompt == TerminalPrompt::Writing)
    FUZZ_CHECK(m.step >= 1 && m.step <= m.steps && m.steps <= 1024, "TerminalStatus writing step out of bounds");
  else if (m.prompt == TerminalPrompt::WrongRetailerPin)
    FUZZ_CHECK(m.step <= 15 && m.steps == 0, "TerminalStatus tries left out of bounds");
  else
    FUZZ_CHECK(m.step == 0 && m.steps == 0, "TerminalStatus step on a prompt without one");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const ByteView payload(data + 1, size - 1);
  switch (data[0] % 13) {
    case 0: round_trip<LinkHello>(payload, check_hello<LinkHello>); break;
    case 1: round_trip<LinkHelloAck>(payload, check_ack); break;
    case 2: round_trip<Keepalive>(payload, no_check); break;
    case 3: round_trip<SteHello>(payload, check_hello<SteHello>); break;
    case 4: round_trip<SessionKeyHandover>(payload, check_handover); break;
    case 5: round_trip<HandshakeH1>(payload, check_h1); break;
    case 6: round_trip<HandshakeH2>(payload, check_h2); break;
    case 7: round_trip<HandshakeH3>(payload, check_h3); break;
    case 8: round_trip<HandshakeH4>(payload, check_h4); break;
    case 9: round_trip<ErrorMessage>(payload, check_error); break;
    case 10: round_trip<TerminateBody>(payload, check_terminate); break;
    case 11: round_trip<TerminalStatus>(payload, check_status); break;
    default: {
      // ErrorMessage::make turns any text into a message that encodes and decodes.
      const std::string text(reinterpret_cast<const char*>(payload.data()), payload.size());
      const auto code = static_cast<ErrorCode>(payload.size() >= 2 ? get_u16(payload, 0) : 0);
      const ErrorMessage made = ErrorMessage::make(code, text);
      auto decoded = ErrorMessage::decode(made.encode());
      FUZZ_CHECK(decoded.ok() && decoded->text == made.text && decoded->code == made.code,
                 "ErrorMessage::make built a message that does not round-trip");
      break;
    }
  }
  // Type table consistency on the raw selector byte.
  if (auto type = to_message_type(data[0])) {
    FUZZ_CHECK(name(*type) != "unknown", "a known type has no name");
    if (is_sealed_type(*type)) FUZZ_CHECK(!allowed_on(*type, Channel::LinkControl), "a sealed type allowed on link");
  }
  return 0;
}
