#include "cardperso/proto/messages.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

namespace cardperso::proto {

namespace {

bool printable(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c <= 0x7e; });
}
bool digits(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

Error wrong_size(std::string_view what, std::size_t got, std::size_t want) {
  return fail(fmt::format("{} payload is {} bytes, expected exactly {}", what, got, want));
}

Block16 block_at(ByteView b, std::size_t at) {
  Block16 out{};
  std::copy_n(b.begin() + static_cast<std::ptrdiff_t>(at), out.size(), out.begin());
  return out;
}
void put(Bytes& out, ByteView b) { out.insert(out.end(), b.begin(), b.end()); }

// LinkHello and SteHello share one layout.
Bytes encode_hello(std::string_view what, std::uint8_t min, std::uint8_t max, const std::string& id) {
  if (id.empty() || id.size() > kMaxNodeId || !printable(id) || min == 0 || min > max)
    throw std::invalid_argument(fmt::format("{}: id must be 1-{} printable ASCII characters and 0 < min <= max",
                                            what, kMaxNodeId));
  Bytes out{min, max, static_cast<std::uint8_t>(id.size())};
  out.insert(out.end(), id.begin(), id.end());
  return out;
}

template <class Hello>
Result<Hello> decode_hello(std::string_view what, ByteView p) {
  if (p.size() < 3) return fail(fmt::format("{} payload is {} bytes, shorter than its 3-byte fixed part", what, p.size()));
  const std::size_t n = p[2];
  if (n == 0 || n > kMaxNodeId) return fail(fmt::format("{} id length {} outside 1..{}", what, n, kMaxNodeId));
  if (p.size() != 3 + n) return wrong_size(what, p.size(), 3 + n);
  Hello h;
  h.min_version = p[0];
  h.max_version = p[1];
  if (h.min_version == 0 || h.min_version > h.max_version)
    return fail(fmt::format("{} version range {}..{} is empty or starts at 0", what, h.min_version, h.max_version));
  h.node_id.assign(reinterpret_cast<const char*>(p.data()) + 3, n);
  if (!printable(h.node_id)) return fail(fmt::format("{} id holds non-printable characters", what));
  return h;
}

}  // namespace

std::optional<MessageType> to_message_type(std::uint8_t raw) {
  if ((raw >= 0x01 && raw <= 0x06) || (raw >= 0x11 && raw <= 0x14) || (raw >= 0x20 && raw <= 0x2B) || raw == 0x7f)
    return static_cast<MessageType>(raw);
  return std::nullopt;
}

std::string_view name(MessageType type) {
  switch (type) {
    case MessageType::LinkHello: return "LinkHello";
    case MessageType::LinkHelloAck: return "LinkHelloAck";
    case MessageType::Keepalive: return "Keepalive";
    case MessageType::SteHello: return "SteHello";
    case MessageType::SessionKeyHandover: return "SessionKeyHandover";
    case MessageType::TerminalStatus: return "TerminalStatus";
    case MessageType::H1: return "H1";
    case MessageType::H2: return "H2";
    case MessageType::H3: return "H3";
    case MessageType::H4: return "H4";
    case MessageType::AppData: return "AppData";
    case MessageType::CustomerDetails: return "CustomerDetails";
    case MessageType::Decision: return "Decision";
    case MessageType::CardInserted: return "CardInserted";
    case MessageType::Script: return "Script";
    case MessageType::ScriptResult: return "ScriptResult";
    case MessageType::Done: return "Done";
    case MessageType::Receipt: return "Receipt";
    case MessageType::Terminate: return "Terminate";
    case MessageType::Echo: return "Echo";
    case MessageType::CardCheck: return "CardCheck";
    case MessageType::CardCheckAnswer: return "CardCheckAnswer";
    case MessageType::Error: return "Error";
  }
  return "unknown";
}

bool is_sealed_type(MessageType type) {
  const auto raw = static_cast<std::uint8_t>(type);
  return raw >= 0x20 && raw <= 0x2B;
}

bool allowed_on(MessageType type, Channel channel) {
  const auto raw = static_cast<std::uint8_t>(type);
  if (type == MessageType::Error) return true;
  switch (channel) {
    case Channel::LinkControl: return raw >= 0x01 && raw <= 0x06;
    case Channel::SteAds:
      return (raw >= 0x11 && raw <= 0x14) || type == MessageType::AppData || type == MessageType::CardInserted ||
             type == MessageType::Decision ||  // C2 on go: the STE learns it may ask for the customer card
             type == MessageType::Script || type == MessageType::ScriptResult || type == MessageType::Done ||
             type == MessageType::CardCheck || type == MessageType::CardCheckAnswer ||
             type == MessageType::Terminate || type == MessageType::Echo;
    case Channel::DtdAds:
      return type == MessageType::AppData || type == MessageType::CustomerDetails || type == MessageType::Decision ||
             type == MessageType::Done || type == MessageType::Receipt || type == MessageType::Terminate ||
             type == MessageType::Echo;
  }
  return false;
}

Bytes LinkHello::encode() const { return encode_hello("LinkHello", min_version, max_version, node_id); }
Result<LinkHello> LinkHello::decode(ByteView payload) { return decode_hello<LinkHello>("LinkHello", payload); }
Bytes SteHello::encode() const { return encode_hello("SteHello", min_version, max_version, node_id); }
Result<SteHello> SteHello::decode(ByteView payload) { return decode_hello<SteHello>("SteHello", payload); }

Bytes LinkHelloAck::encode() const {
  if (version == 0) throw std::invalid_argument("LinkHelloAck: version 0 does not exist");
  return {version};
}
Result<LinkHelloAck> LinkHelloAck::decode(ByteView payload) {
  if (payload.size() != 1) return wrong_size("LinkHelloAck", payload.size(), 1);
  if (payload[0] == 0) return fail("LinkHelloAck chooses version 0, which does not exist");
  return LinkHelloAck{payload[0]};
}

Result<Keepalive> Keepalive::decode(ByteView payload) {
  if (!payload.empty()) return wrong_size("Keepalive", payload.size(), 0);
  return Keepalive{};
}

Bytes SessionKeyHandover::encode() const {
  if (session == 0) throw std::invalid_argument("SessionKeyHandover: needs a non-zero session id");
  Bytes out;
  out.reserve(kSize);
  put_u32(out, session);
  put(out, transcript_hash);
  put(out, sealed_sk_d);
  return out;
}
Result<SessionKeyHandover> SessionKeyHandover::decode(ByteView p) {
  if (p.size() != kSize) return wrong_size("SessionKeyHandover", p.size(), kSize);
  SessionKeyHandover m;
  m.session = get_u32(p, 0);
  if (m.session == 0) return fail("SessionKeyHandover names session 0, which is never a session id");
  std::copy_n(p.begin() + 4, 32, m.transcript_hash.begin());
  std::copy_n(p.begin() + 36, 32, m.sealed_sk_d.begin());
  return m;
}

Bytes HandshakeH1::encode() const {
  if (serial.empty() || serial.size() > kMaxSerial || !digits(serial) || version == 0)
    throw std::invalid_argument("H1: serial must be 1-20 ASCII digits and the version non-zero");
  Bytes out{version, key_version, static_cast<std::uint8_t>(serial.size())};
  out.insert(out.end(), serial.begin(), serial.end());
  put(out, rn2);
  put(out, rn4);
  put(out, rn6);
  put(out, share);
  put(out, terminal);
  return out;
}
Result<HandshakeH1> HandshakeH1::decode(ByteView p) {
  if (p.size() < 3) return fail(fmt::format("H1 payload is {} bytes, shorter than its 3-byte fixed part", p.size()));
  const std::size_t n = p[2];
  if (n == 0 || n > kMaxSerial) return fail(fmt::format("H1 card serial length {} outside 1..{}", n, kMaxSerial));
  if (p.size() != 3 + n + 112) return wrong_size("H1", p.size(), 3 + n + 112);
  HandshakeH1 m;
  m.version = p[0];
  if (m.version == 0) return fail("H1 asks for protocol version 0, which does not exist");
  m.key_version = p[1];
  m.serial.assign(reinterpret_cast<const char*>(p.data()) + 3, n);
  if (!digits(m.serial)) return fail("H1 card serial holds characters other than ASCII digits");
  m.rn2 = block_at(p, 3 + n);
  m.rn4 = block_at(p, 3 + n + 16);
  m.rn6 = block_at(p, 3 + n + 32);
  std::copy_n(p.begin() + static_cast<std::ptrdiff_t>(3 + n + 48), m.share.size(), m.share.begin());
  std::copy_n(p.begin() + static_cast<std::ptrdiff_t>(3 + n + 80), m.terminal.size(), m.terminal.begin());
  return m;
}

Bytes HandshakeH2::encode() const {
  if (session == 0) throw std::invalid_argument("H2: session id 0 is reserved for 'not yet chosen'");
  Bytes out;
  out.reserve(84);
  put_u32(out, session);
  put(out, rn1);
  put(out, rn3);
  put(out, rn5);
  put(out, share);
  return out;
}
Result<HandshakeH2> HandshakeH2::decode(ByteView p) {
  if (p.size() != 84) return wrong_size("H2", p.size(), 84);
  HandshakeH2 m;
  m.session = get_u32(p, 0);
  if (m.session == 0) return fail("H2 names session 0, which is never a session id");
  m.rn1 = block_at(p, 4);
  m.rn3 = block_at(p, 20);
  m.rn5 = block_at(p, 36);
  std::copy_n(p.begin() + 52, m.share.size(), m.share.begin());
  return m;
}

Bytes HandshakeH3::encode() const {
  Bytes out;
  out.reserve(112);
  put(out, retailer_cryptogram);
  put(out, confirm_s);
  put(out, confirm_d);
  put(out, terminal_signature);
  return out;
}
Result<HandshakeH3> HandshakeH3::decode(ByteView p) {
  if (p.size() != 112) return wrong_size("H3", p.size(), 112);
  HandshakeH3 m{block_at(p, 0), block_at(p, 16), block_at(p, 32), {}};
  std::copy_n(p.begin() + 48, m.terminal_signature.size(), m.terminal_signature.begin());
  return m;
}

Bytes HandshakeH4::encode() const {
  Bytes out;
  out.reserve(48);
  put(out, issuer_cryptogram);
  put(out, confirm_s);
  put(out, confirm_d);
  return out;
}
Result<HandshakeH4> HandshakeH4::decode(ByteView p) {
  if (p.size() != 48) return wrong_size("H4", p.size(), 48);
  return HandshakeH4{block_at(p, 0), block_at(p, 16), block_at(p, 32)};
}

Bytes ErrorMessage::encode() const {
  if (code == ErrorCode::None || text.size() > kMaxErrorText || !printable(text))
    throw std::invalid_argument("Error message: non-zero code and at most 256 printable ASCII characters");
  Bytes out;
  put_u16(out, static_cast<std::uint16_t>(code));
  put_u16(out, static_cast<std::uint16_t>(text.size()));
  out.insert(out.end(), text.begin(), text.end());
  return out;
}
Result<ErrorMessage> ErrorMessage::decode(ByteView p) {
  if (p.size() < 4) return fail(fmt::format("Error payload is {} bytes, shorter than its 4-byte fixed part", p.size()));
  const std::uint16_t code = get_u16(p, 0);
  if (code == 0) return fail("Error message carries code 0, which means 'no error'");
  const std::size_t n = get_u16(p, 2);
  if (n > kMaxErrorText) return fail(fmt::format("Error text length {} exceeds {}", n, kMaxErrorText));
  if (p.size() != 4 + n) return wrong_size("Error", p.size(), 4 + n);
  ErrorMessage m;
  m.code = static_cast<ErrorCode>(code);  // unknown codes from a newer peer are kept, not refused
  m.text.assign(reinterpret_cast<const char*>(p.data()) + 4, n);
  if (!printable(m.text)) return fail("Error text holds non-printable characters");
  return m;
}
ErrorMessage ErrorMessage::make(ErrorCode code, std::string_view text) {
  ErrorMessage m;
  m.code = code == ErrorCode::None ? ErrorCode::Internal : code;
  m.text.assign(text.substr(0, kMaxErrorText));
  for (auto& c : m.text)
    if (c < 0x20 || c > 0x7e) c = '?';
  return m;
}

Bytes TerminateBody::encode() const {
  Bytes out;
  put_u16(out, static_cast<std::uint16_t>(code));
  return out;
}
Result<TerminateBody> TerminateBody::decode(ByteView plaintext) {
  if (plaintext.size() != 2) return wrong_size("Terminate", plaintext.size(), 2);
  return TerminateBody{static_cast<ErrorCode>(get_u16(plaintext, 0))};
}

}  // namespace cardperso::proto
