#pragma once
// Decimal digits as GSM 11.11 stores them (§10.1.1 EF_ICCID, §10.3.2 EF_IMSI, §10.5.5 EF_MSISDN):
// nibble-swapped BCD, two digits a byte with the first in the low nibble, padded with F.
#include <cstddef>
#include <string>
#include <string_view>

#include "cardperso/common/bytes.hpp"
#include "cardperso/common/result.hpp"

namespace cardperso::card {

// Digits only ("" counts as digits).
bool all_digits(std::string_view s);
// Exactly `bytes` bytes; the caller has checked that `digits` are digits and fit (2 per byte).
Bytes encode_swapped_bcd(std::string_view digits, std::size_t bytes);
// Back to digits: stops at the first F, which may be followed only by F. `what` names the field in
// the error. An all-F input gives "".
Result<std::string> decode_swapped_bcd(ByteView bcd, std::string_view what);

}  // namespace cardperso::card
