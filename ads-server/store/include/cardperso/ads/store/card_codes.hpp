#pragma once
// The codes that open a blank card, computed exactly as the card side documents them (docs/cards.md
// §2.1), and the ICCIDs of a batch, numbered exactly as `cardperso-mkcards blank-batch` numbers them.
// The store does not link the card simulator: these few lines are the documented formulas.
#include <cstdint>
#include <string>
#include <string_view>

#include "cardperso/common/bytes.hpp"
#include "cardperso/common/result.hpp"
#include "cardperso/common/secret_bytes.hpp"

namespace cardperso::ads {

inline constexpr std::size_t kCardCodeSize = 8;       // ADM1: master code or issuer code
inline constexpr std::size_t kBatchSecretSize = 16;

// HMAC-SHA-256(batch_secret, "cardperso/v1/master-code" || 0x00 || ICCID as ASCII digits)[0..8)
SecretBytes derive_master_code(ByteView batch_secret, std::string_view iccid);

// Luhn check digit (ISO/IEC 7812) of a digit string; a non-digit is a programmer error (throws).
char luhn_digit(std::string_view digits);
// ICCIDs as stored and as read from EF_ICCID: 18 to 20 decimal digits.
Result<void> check_iccid(std::string_view iccid);
// prefix || serial zero-padded to 18 digits || Luhn digit (19 digits). Fails unless the prefix is 2..17
// digits and the serial fits in the digits left.
Result<std::string> batch_iccid(std::string_view prefix, std::uint64_t serial);

// pySim-prog CSV ADM columns (reference/sim-facts.md §1.2):
//   adm1 / pin_adm: 1..8 ASCII digits -> their ASCII bytes padded with FF to 8 bytes ("1234" -> 31323334FFFFFFFF)
//   pin_adm_hex:    exactly 16 hex digits -> those 8 bytes
Result<SecretBytes> encode_adm_digits(std::string_view digits);
Result<SecretBytes> encode_adm_hex(std::string_view hex_digits);

}  // namespace cardperso::ads
