#include "cardperso/common/bytes.hpp"

#include <stdexcept>

namespace cardperso {

std::string to_hex(ByteView data) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(data.size() * 2);
  for (auto b : data) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0x0F]);
  }
  return out;
}

static int nibble(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<Bytes> from_hex(std::string_view text) {
  Bytes out;
  out.reserve(text.size() / 2);
  int high = -1;
  for (char c : text) {
    if (c == ' ') continue;
    int n = nibble(c);
    if (n < 0) return std::nullopt;
    if (high < 0) {
      high = n;
    } else {
      out.push_back(static_cast<std::uint8_t>((high << 4) | n));
      high = -1;
    }
  }
  if (high >= 0) return std::nullopt;
  return out;
}

Bytes hex(std::string_view literal) {
  auto b = from_hex(literal);
  if (!b) throw std::invalid_argument("bad hex literal: " + std::string(literal));
  return *b;
}

}  // namespace cardperso
