#include "cardperso/card/iccid.hpp"

#include <stdexcept>

#include "cardperso/card/bcd_digits.hpp"
#include "cardperso/card/file_ids.hpp"

namespace cardperso::card {

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
  return encode_swapped_bcd(full, kEfIccidSize);
}

Result<std::string> decode_iccid(ByteView ef) {
  if (ef.size() != kEfIccidSize) return fail("EF_ICCID: expected 10 bytes, got " + std::to_string(ef.size()));
  auto digits = decode_swapped_bcd(ef, "EF_ICCID");
  if (!digits) return digits.error();
  if (digits->empty()) return fail("EF_ICCID holds no digits (a blank card?)");
  if (digits->size() < 18) return fail("EF_ICCID: fewer than 18 digits");
  return digits;
}

}  // namespace cardperso::card
