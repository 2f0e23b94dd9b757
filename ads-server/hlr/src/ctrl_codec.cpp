#include "cardperso/ads/hlr/ctrl_codec.hpp"

#include <algorithm>
#include <charconv>

namespace cardperso::ads::hlr {

namespace {

bool printable(std::string_view s, bool spaces_allowed) {
  return std::all_of(s.begin(), s.end(), [&](char c) { return (c > ' ' && c < 0x7F) || (spaces_allowed && c == ' '); });
}

std::optional<std::uint32_t> parse_id(std::string_view s) {
  std::uint32_t id = 0;
  if (s.empty() || s.size() > 10) return std::nullopt;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), id);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return id;
}

// Splits off the next space-separated word.
std::string_view word(std::string_view& rest) {
  const auto space = rest.find(' ');
  std::string_view w = rest.substr(0, space);
  rest = space == std::string_view::npos ? std::string_view{} : rest.substr(space + 1);
  return w;
}

}  // namespace

Result<SecretBytes> encode_ctrl_request(CtrlVerb verb, std::uint32_t id, std::string_view variable,
                                        std::string_view value) {
  if (variable.empty() || variable.size() > 256 || !printable(variable, false)) {
    return fail(Errc::InvalidInput, "CTRL request: the variable name must be 1 to 256 printable characters, no spaces");
  }
  // Values never need a space here, and refusing them keeps a reply's variable/value split unambiguous.
  if (value.size() > 1024 || !printable(value, false) || (verb == CtrlVerb::Set && value.empty())) {
    return fail(Errc::InvalidInput, "CTRL request: the value of " + std::string(variable) +
                                        " must be 1 to 1024 printable characters without spaces");
  }
  const std::string_view verb_text = verb == CtrlVerb::Get ? "GET" : "SET";
  const std::string id_text = std::to_string(id);
  const std::size_t text_size =
      verb_text.size() + 1 + id_text.size() + 1 + variable.size() + (verb == CtrlVerb::Set ? 1 + value.size() : 0);
  const std::size_t length = 1 + text_size;  // the extension byte and the text
  SecretBytes out(3 + length);
  std::uint8_t* p = out.data();
  *p++ = static_cast<std::uint8_t>(length >> 8);
  *p++ = static_cast<std::uint8_t>(length & 0xFF);
  *p++ = kIpaProtoOsmo;
  *p++ = kIpaExtCtrl;
  auto put = [&p](std::string_view s) { p = std::copy(s.begin(), s.end(), p); };
  put(verb_text);
  put(" ");
  put(id_text);
  put(" ");
  put(variable);
  if (verb == CtrlVerb::Set) {
    put(" ");
    put(value);
  }
  return out;
}

CtrlText& CtrlText::operator=(const CtrlText& other) {
  if (this != &other) {
    wipe();
    text_ = other.text_;
  }
  return *this;
}

CtrlText& CtrlText::operator=(CtrlText&& other) noexcept {
  if (this != &other) {
    wipe();
    text_ = std::move(other.text_);
    other.wipe();
  }
  return *this;
}

void CtrlText::wipe() noexcept {
  // The whole buffer, not just size(): a moved-from or shortened string may keep old characters.
  text_.resize(text_.capacity());
  secure_wipe(text_.data(), text_.size());
  text_.clear();
}

Result<CtrlReply> parse_ctrl_text(std::string_view text) {
  std::string_view rest = text;
  const std::string_view verb = word(rest);
  CtrlReply reply;
  if (verb == "TRAP") {
    reply.kind = CtrlReply::Kind::Trap;
    reply.variable = std::string(word(rest));
    reply.value = CtrlText(rest);
    return reply;
  }
  if (verb == "GET_REPLY") {
    reply.kind = CtrlReply::Kind::GetReply;
  } else if (verb == "SET_REPLY") {
    reply.kind = CtrlReply::Kind::SetReply;
  } else if (verb == "ERROR") {
    reply.kind = CtrlReply::Kind::Error;
  } else {
    return fail(Errc::InvalidInput, "CTRL: unexpected message type \"" + std::string(verb.substr(0, 16)) +
                                        "\" from the HLR");
  }
  const auto id = parse_id(word(rest));
  if (!id) return fail(Errc::InvalidInput, "CTRL: a reply without a valid id");
  reply.id = *id;
  if (reply.kind != CtrlReply::Kind::Error) reply.variable = std::string(word(rest));
  reply.value = CtrlText(rest);
  return reply;
}

void CtrlReader::feed(ByteView bytes) { buffer_.insert(buffer_.end(), bytes.begin(), bytes.end()); }

void CtrlReader::consume(std::size_t n) {
  const std::size_t before = buffer_.size();
  secure_wipe(buffer_.data(), n);
  buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(n));
  // erase() leaves copies of the moved bytes past the new end: growing zero-fills them.
  const std::size_t after = buffer_.size();
  buffer_.resize(before);
  buffer_.resize(after);
}

CtrlReader::~CtrlReader() {
  buffer_.resize(buffer_.capacity());
  secure_wipe(buffer_.data(), buffer_.size());
}

Result<std::optional<CtrlReply>> CtrlReader::next() {
  while (buffer_.size() >= 3) {
    const std::size_t length = (std::size_t{buffer_[0]} << 8) | buffer_[1];
    if (buffer_.size() < 3 + length) return std::optional<CtrlReply>{};
    const bool ctrl = buffer_[2] == kIpaProtoOsmo && length >= 1 && buffer_[3] == kIpaExtCtrl;
    if (!ctrl) {
      consume(3 + length);
      continue;
    }
    const std::string_view text(reinterpret_cast<const char*>(buffer_.data() + 4), length - 1);
    auto reply = parse_ctrl_text(text);
    consume(3 + length);
    if (!reply) return reply.error();
    return std::optional<CtrlReply>(std::move(reply).value());
  }
  return std::optional<CtrlReply>{};
}

}  // namespace cardperso::ads::hlr
