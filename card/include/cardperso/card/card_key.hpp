#pragma once
// The blank SIM's card key and its answer to a challenge (docs/cards.md §2.3). A card that only
// claims a stock ICCID must not be handed that card's codes: before any code leaves the issuer, its
// server challenges the card, and only a card holding the key derived for that ICCID answers right.
#include <cstddef>
#include <string_view>

#include "cardperso/common/bytes.hpp"
#include "cardperso/common/crypto.hpp"
#include "cardperso/common/secret_bytes.hpp"

namespace cardperso::card {

inline constexpr std::size_t kCardKeySize = 16;
inline constexpr std::size_t kCardChallengeSize = 16;

// Card key (MF/000C of a blank SIM), 16 bytes, from the same batch secret as the master code but
// under its own label, so that neither value tells anything about the other:
//   K_card = HMAC-SHA-256(batch_secret, "cardperso/v1/card-key" || 0x00 || ICCID as ASCII digits)[0..16)
SecretBytes derive_card_key(ByteView batch_secret, std::string_view iccid);

// The card's answer to a challenge (CARD PROOF): AES-128 (one block, FIPS-197) of the 16-byte
// challenge under K_card. Key and challenge must be 16 bytes (std::invalid_argument otherwise).
crypto::Block card_proof(ByteView card_key, ByteView challenge);

}  // namespace cardperso::card
