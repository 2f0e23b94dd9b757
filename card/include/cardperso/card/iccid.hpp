#pragma once
// The ICCID (ITU-T E.118) and its Luhn check digit (ISO/IEC 7812-1 Annex B), and EF_ICCID
// (GSM 11.11 §10.1.1): 10 bytes of nibble-swapped BCD padded with F.
#include <string>
#include <string_view>

#include "cardperso/common/bytes.hpp"
#include "cardperso/common/result.hpp"

namespace cardperso::card {

// Luhn check digit of a digit string, e.g. "898821132030000002" -> '8'. A non-digit is a programmer
// error (throws std::invalid_argument).
char luhn_digit(std::string_view digits);

// 18 digits (the Luhn digit is appended) or 19 digits whose last is the right Luhn digit -> EF_ICCID.
Result<Bytes> encode_iccid(std::string_view iccid);
// EF_ICCID -> 18 to 20 digits. Fails unless 10 bytes of BCD padded with F.
Result<std::string> decode_iccid(ByteView ef_iccid);

}  // namespace cardperso::card
