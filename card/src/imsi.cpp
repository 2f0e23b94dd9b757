#include "cardperso/card/imsi.hpp"

#include "cardperso/card/bcd_digits.hpp"

namespace cardperso::card {

Result<Bytes> encode_imsi(std::string_view digits) {
  if (digits.size() < 6 || digits.size() > 15 || !all_digits(digits))
    return fail("IMSI must be 6 to 15 digits (got \"" + std::string(digits) + "\")");
  const bool odd = digits.size() % 2 == 1;
  std::string nibbles(1, odd ? '9' : '1');  // type-and-parity nibble, then the digits
  nibbles += digits;
  Bytes out;
  out.push_back(static_cast<std::uint8_t>((digits.size() + 2) / 2));
  Bytes body = encode_swapped_bcd(nibbles, 8);
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

Result<std::string> decode_imsi(ByteView ef) {
  if (ef.size() != 9) return fail("EF_IMSI: expected 9 bytes, got " + std::to_string(ef.size()));
  const std::size_t len = ef[0];
  if (len < 1 || len > 8) return fail("EF_IMSI: length byte " + std::to_string(len) + " out of 1..8");
  const std::uint8_t type = ef[1] & 0x0F;
  if ((type & 0x07) != 0x01) return fail("EF_IMSI: first nibble is not the IMSI type (" + to_hex(ef) + ")");
  for (std::size_t i = 1 + len; i < 9; ++i)
    if (ef[i] != 0xFF) return fail("EF_IMSI: bytes after the length are not FF");
  std::string digits;
  bool ended = false;
  for (std::size_t i = 1; i <= len; ++i) {
    for (int half = 0; half < 2; ++half) {
      if (i == 1 && half == 0) continue;  // the type-and-parity nibble
      const std::uint8_t n = half == 0 ? (ef[i] & 0x0F) : (ef[i] >> 4);
      if (n == 0x0F) {
        ended = true;
      } else if (ended || n > 9) {
        return fail("EF_IMSI: not BCD digits padded with F (" + to_hex(ef) + ")");
      } else {
        digits.push_back(static_cast<char>('0' + n));
      }
    }
  }
  const bool odd = (type & 0x08) != 0;
  if ((digits.size() % 2 == 1) != odd) return fail("EF_IMSI: parity nibble does not match the digit count");
  if (digits.size() < 6) return fail("EF_IMSI: fewer than 6 digits");
  return digits;
}

}  // namespace cardperso::card
