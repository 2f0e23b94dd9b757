#pragma once
// The two starting states of a card.
#include <array>
#include <string>
#include <string_view>

#include "cardperso/card/card_key.hpp"
#include "cardperso/card/chv_code.hpp"
#include "cardperso/card/iccid.hpp"
#include "cardperso/card/master_code.hpp"
#include "cardperso/cardsim/card_image.hpp"
#include "cardperso/common/bytes.hpp"
#include "cardperso/common/result.hpp"
#include "cardperso/common/secret_bytes.hpp"

namespace cardperso::cardsim {

// The card layer's formulas the builders apply (docs/cards.md §2), under the names the simulator's
// callers know them by.
using card::decode_iccid;
using card::derive_card_key;
using card::derive_master_code;
using card::encode_iccid;
using card::encode_pin;
using card::luhn_digit;

// A blank SIM as a manufacturer ships it: MF, EF_ICCID, ADM1 = master code and, when card_key is not
// empty (then it must be 16 bytes), MF/000C = the card key CARD PROOF answers with (docs/cards.md
// §2.3); no subscriber files, no CHV1. Without a card key it is what a card programmed elsewhere
// (pySim, another vendor) looks like: it cannot prove it is a stock card. Its ATR offers T=0 only.
CardImage make_blank_sim(std::string_view iccid, ByteView master_code, ByteView card_key = {});

// A blank SIM as cardperso-mkcards makes it: master code and card key both derived from the batch
// secret for this ICCID (docs/cards.md §2.1, §2.3).
CardImage make_stock_sim(std::string_view iccid, ByteView batch_secret);

struct RetailerKeys {
  std::uint8_t key_version = 1;
  SecretBytes k_ra, k_ia, k_s, k_d;  // AES-128 each
};

// A retailer card: serial readable by anyone (MF/EF_ICCID), CHV1 = retailer PIN (ASCII digits padded FF),
// UNBLOCK1 = puk, DF_RETAILER/EF 6F01 = key file that nothing reads (the card computes with it,
// docs/cards.md §2.2), EF 6F02 = key version readable by anyone; both writable with ADM1 = issuer_code.
CardImage make_retailer_card(std::string_view serial, std::string_view pin, std::string_view puk,
                             ByteView issuer_code, const RetailerKeys& keys);

}  // namespace cardperso::cardsim
