#include "cardperso/card/bcd_digits.hpp"

#include <algorithm>

namespace cardperso::card {

bool all_digits(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

Bytes encode_swapped_bcd(std::string_view digits, std::size_t bytes) {
  Bytes out(bytes, 0xFF);
  for (std::size_t i = 0; i < digits.size() && i / 2 < bytes; ++i) {
    const auto d = static_cast<std::uint8_t>(digits[i] - '0');
    std::uint8_t& b = out[i / 2];
    b = i % 2 == 0 ? static_cast<std::uint8_t>((b & 0xF0) | d) : static_cast<std::uint8_t>((b & 0x0F) | (d << 4));
  }
  return out;
}

Result<std::string> decode_swapped_bcd(ByteView bcd, std::string_view what) {
  std::string out;
  bool ended = false;
  for (std::uint8_t b : bcd) {
    for (std::uint8_t n : {static_cast<std::uint8_t>(b & 0x0F), static_cast<std::uint8_t>(b >> 4)}) {
      if (n == 0xF) {
        ended = true;
      } else if (ended || n > 9) {
        return fail(std::string(what) + ": not BCD digits padded with F (" + to_hex(bcd) + ")");
      } else {
        out.push_back(static_cast<char>('0' + n));
      }
    }
  }
  return out;
}

}  // namespace cardperso::card
