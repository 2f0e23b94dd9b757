#include "cardperso/ads/store/card_codes.hpp"

#include "cardperso/card/bcd_digits.hpp"
#include "cardperso/card/chv_code.hpp"

namespace cardperso::ads {

namespace {

using card::all_digits;

constexpr std::size_t kIccidBody = 18;  // digits before the Luhn digit in a batch ICCID

}  // namespace

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

Result<SecretBytes> encode_adm_digits(std::string_view digits) { return card::pad_code_digits(digits); }

Result<SecretBytes> encode_adm_hex(std::string_view hex_digits) {
  if (hex_digits.size() != 2 * kCardCodeSize) return fail("must be exactly 16 hex digits");
  auto bytes = from_hex(hex_digits);
  if (!bytes) return fail("must be exactly 16 hex digits");
  SecretBytes code(*bytes);
  secure_wipe(bytes->data(), bytes->size());
  return code;
}

}  // namespace cardperso::ads
