#pragma once
// The codes that open a blank card (the card layer's formula, docs/cards.md §2.1), and the ICCIDs of a
// batch, numbered exactly as `cardperso-mkcards blank-batch` numbers them.
#include <cstdint>
#include <string>
#include <string_view>

#include "cardperso/card/file_ids.hpp"
#include "cardperso/card/iccid.hpp"
#include "cardperso/card/master_code.hpp"
#include "cardperso/common/bytes.hpp"
#include "cardperso/common/result.hpp"
#include "cardperso/common/secret_bytes.hpp"

namespace cardperso::ads {

inline constexpr std::size_t kCardCodeSize = card::kCodeSize;  // ADM1: master code or issuer code
inline constexpr std::size_t kBatchSecretSize = card::kBatchSecretSize;

using card::derive_master_code;
using card::luhn_digit;
// ICCIDs as stored and as read from EF_ICCID: 18 to 20 decimal digits.
Result<void> check_iccid(std::string_view iccid);
// prefix || serial zero-padded to 18 digits || Luhn digit (19 digits). Fails unless the prefix is 2..17
// digits and the serial fits in the digits left.
Result<std::string> batch_iccid(std::string_view prefix, std::uint64_t serial);

// pySim-prog CSV ADM columns (codes as GSM 11.11 §9.2.9 compares them; docs/cards.md §1.2):
//   adm1 / pin_adm: 1..8 ASCII digits -> their ASCII bytes padded with FF to 8 bytes ("1234" -> 31323334FFFFFFFF)
//   pin_adm_hex:    exactly 16 hex digits -> those 8 bytes
Result<SecretBytes> encode_adm_digits(std::string_view digits);
Result<SecretBytes> encode_adm_hex(std::string_view hex_digits);

}  // namespace cardperso::ads
