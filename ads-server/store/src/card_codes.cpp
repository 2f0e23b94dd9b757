#include "cardperso/ads/store/card_codes.hpp"

#include <algorithm>
#include <stdexcept>

#include "cardperso/common/crypto.hpp"

namespace cardperso::ads {

namespace {

bool all_digits(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

constexpr std::size_t kIccidBody = 18;  // digits before the Luhn digit in a batch ICCID

}  // namespace

SecretBytes derive_master_code(ByteView batch_secret, std::string_view iccid) {
  static constexpr std::string_view kLabel = "cardperso/v1/master-code";
  Bytes message(kLabel.begin(), kLabel.end());
  message.push_back(0x00);
  message.insert(message.end(), iccid.begin(), iccid.end());
  auto mac = crypto::hmac_sha256(batch_secret, message);
  SecretBytes code(ByteView(mac.data(), kCardCodeSize));
  secure_wipe(mac.data(), mac.size());
  return code;
}

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

Result<void> check_iccid(std::string_view iccid) {
  if (iccid.size() < 18 || iccid.size() > 20 || !all_digits(iccid)) {
    return fail("an ICCID is 18 to 20 decimal digits (got \"" + std::string(iccid.substr(0, 24)) +
                (iccid.size() > 24 ? "..." : "") + "\")");
  }
  return {};
}

Result<std::string> batch_iccid(std::string_view prefix, std::uint64_t serial) {
  if (prefix.size() < 2 || prefix.size() >= kIccidBody || !all_digits(prefix)) {
    return fail("the ICCID prefix must be 2 to 17 digits");
  }
  const std::string digits = std::to_string(serial);
  const std::size_t room = kIccidBody - prefix.size();
  if (digits.size() > room) {
    return fail("serial " + digits + " does not fit in the " + std::to_string(room) + " digits after prefix " +
                std::string(prefix));
  }
  std::string body = std::string(prefix) + std::string(room - digits.size(), '0') + digits;
  body.push_back(luhn_digit(body));
  return body;
}

Result<SecretBytes> encode_adm_digits(std::string_view digits) {
  if (digits.empty() || digits.size() > kCardCodeSize || !all_digits(digits)) {
    return fail("must be 1 to 8 decimal digits");
  }
  SecretBytes code(kCardCodeSize);
  std::fill(code.data(), code.data() + code.size(), 0xFF);
  std::copy(digits.begin(), digits.end(), code.data());
  return code;
}

Result<SecretBytes> encode_adm_hex(std::string_view hex_digits) {
  if (hex_digits.size() != 2 * kCardCodeSize) return fail("must be exactly 16 hex digits");
  auto bytes = from_hex(hex_digits);
  if (!bytes) return fail("must be exactly 16 hex digits");
  SecretBytes code(*bytes);
  secure_wipe(bytes->data(), bytes->size());
  return code;
}

}  // namespace cardperso::ads
