#pragma once
// Codes as a GSM card compares them (GSM 11.11 §9.2.9): 8 bytes, typed digits as ASCII padded with FF
// ("1234" -> 31 32 33 34 FF FF FF FF); an ADM code may also be 8 raw bytes.
#include <string_view>

#include "cardperso/common/result.hpp"
#include "cardperso/common/secret_bytes.hpp"

namespace cardperso::card {

// 1..8 ASCII digits -> 8 bytes. Fails otherwise.
Result<SecretBytes> pad_code_digits(std::string_view digits);
// A CHV or UNBLOCK code: 4..8 ASCII digits (GSM 11.11 §9.3) -> 8 bytes. Fails otherwise.
Result<SecretBytes> encode_pin(std::string_view digits);

}  // namespace cardperso::card
