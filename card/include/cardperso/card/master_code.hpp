#pragma once
// The card formula that opens a blank SIM (docs/cards.md §2.1): one batch secret, one code per ICCID.
#include <string_view>

#include "cardperso/common/bytes.hpp"
#include "cardperso/common/secret_bytes.hpp"

namespace cardperso::card {

inline constexpr std::size_t kBatchSecretSize = 16;

// Manufacturer master code (ADM1 of a blank SIM), 8 bytes:
//   HMAC-SHA-256(batch_secret, "cardperso/v1/master-code" || 0x00 || ICCID digits as ASCII)[0..8)
SecretBytes derive_master_code(ByteView batch_secret, std::string_view iccid);

}  // namespace cardperso::card
