// ICCID: Luhn check digit and the EF_ICCID encoding (nibble-swapped BCD, F padding, 10 bytes).
#include <stdexcept>

#include "cardperso/cardsim/card_builders.hpp"

namespace cardperso::cardsim {

namespace {
inline constexpr std::size_t kEfIccidSize = 10;

bool all_digits(std::string_view s) {
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}
}  // namespace

char luhn_digit(std::string_view digits) {
  if (!all_digits(digits)) throw std::invalid_argument("luhn_digit: digits only");
  int sum = 0;
  bool twice = true;  // the digit left of the check digit is doubled
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    int d = *it - '0';
    if (twice) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    twice = !twice;
  }
  return static_cast<char>('0' + (10 - sum % 10) % 10);
}

Result<Bytes> encode_iccid(std::string_view iccid) {
  if (!all_digits(iccid) || (iccid.size() != 18 && iccid.size() != 19))
    return fail("ICCID \"" + std::string(iccid) + "\" must be 18 digits, or 19 with its Luhn digit");
  std::string full(iccid);
  if (full.size() == 18) {
    full.push_back(luhn_digit(full));
  } else if (luhn_digit(iccid.substr(0, 18)) != iccid[18]) {
    return fail("ICCID " + full + " has a wrong Luhn check digit; expected " + luhn_digit(iccid.substr(0, 18)));
  }
  full.resize(2 * kEfIccidSize, 'F');
  Bytes out;
  for (std::size_t i = 0; i < full.size(); i += 2) {
    auto nibble = [](char c) { return static_cast<std::uint8_t>(c == 'F' ? 0xF : c - '0'); };
    out.push_back(static_cast<std::uint8_t>(nibble(full[i + 1]) << 4 | nibble(full[i])));
  }
  return out;
}

Result<std::string> decode_iccid(ByteView ef_iccid) {
  if (ef_iccid.size() != kEfIccidSize) return fail("EF_ICCID must be 10 bytes");
  std::string digits;
  bool padding = false;
  for (std::uint8_t b : ef_iccid) {
    for (std::uint8_t nibble : {static_cast<std::uint8_t>(b & 0x0F), static_cast<std::uint8_t>(b >> 4)}) {
      if (nibble == 0xF) {
        padding = true;
      } else if (nibble <= 9 && !padding) {
        digits.push_back(static_cast<char>('0' + nibble));
      } else {
        return fail("EF_ICCID " + to_hex(ef_iccid) + " is not BCD digits padded with F");
      }
    }
  }
  if (digits.empty()) return fail("EF_ICCID holds no digits (a blank card?)");
  return digits;
}

}  // namespace cardperso::cardsim
