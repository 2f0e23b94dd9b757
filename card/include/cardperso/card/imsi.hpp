#pragma once
// EF_IMSI (6F07; GSM 11.11 §10.3.2), 9 bytes: length byte, then nibble-swapped BCD whose first nibble
// is 1 (IMSI, even digit count) or 9 (odd digit count), F-padded. 6..15 digits. The encoder refuses
// what the file cannot hold instead of truncating it.
#include <string>
#include <string_view>

#include "cardperso/common/bytes.hpp"
#include "cardperso/common/result.hpp"

namespace cardperso::card {

Result<Bytes> encode_imsi(std::string_view digits);
Result<std::string> decode_imsi(ByteView ef);

}  // namespace cardperso::card
