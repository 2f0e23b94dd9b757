#include "cardperso/card/chv_code.hpp"

#include <algorithm>

#include "cardperso/card/bcd_digits.hpp"
#include "cardperso/card/file_ids.hpp"

namespace cardperso::card {

Result<SecretBytes> pad_code_digits(std::string_view digits) {
  if (digits.empty() || digits.size() > kCodeSize || !all_digits(digits)) return fail("must be 1 to 8 decimal digits");
  SecretBytes code(kCodeSize);
  std::fill(code.data(), code.data() + code.size(), 0xFF);
  std::copy(digits.begin(), digits.end(), code.data());
  return code;
}

Result<SecretBytes> encode_pin(std::string_view digits) {
  if (digits.size() < 4 || digits.size() > kCodeSize) return fail("a PIN/PUK must be 4 to 8 digits");
  if (!all_digits(digits)) return fail("a PIN/PUK must be digits only");
  return pad_code_digits(digits);
}

}  // namespace cardperso::card
