#pragma once
// The two starting states of a card and the key derivation for a batch of blank SIMs.
#include <array>
#include <string>
#include <string_view>

#include "cardperso/cardsim/card_image.hpp"
#include "cardperso/common/bytes.hpp"
#include "cardperso/common/result.hpp"
#include "cardperso/common/secret_bytes.hpp"

namespace cardperso::cardsim {

// Manufacturer master code (ADM1 of a blank SIM), 8 bytes:
//   HMAC-SHA-256(batch_secret, "cardperso/v1/master-code" || 0x00 || ICCID digits as ASCII)[0..8)
// Documented in docs/cards.md with a known-answer vector.
SecretBytes derive_master_code(ByteView batch_secret, std::string_view iccid);

// Luhn check digit of a digit string (ISO/IEC 7812), e.g. "898821132030000002" -> '8'.
char luhn_digit(std::string_view digits);
// ICCID (18 or 19 digits with Luhn) -> EF_ICCID: nibble-swapped BCD padded with F, 10 bytes.
Result<Bytes> encode_iccid(std::string_view iccid);
Result<std::string> decode_iccid(ByteView ef_iccid);

// A blank SIM as a manufacturer ships it: MF, EF_ICCID, ADM1 = master code; no subscriber files,
// no CHV1. Its ATR offers T=0 only.
CardImage make_blank_sim(std::string_view iccid, ByteView master_code);

struct RetailerKeys {
  std::uint8_t key_version = 1;
  SecretBytes k_ra, k_ia, k_s, k_d;  // AES-128 each
};

// A retailer card: serial readable by anyone (MF/EF_ICCID), CHV1 = retailer PIN (ASCII digits padded FF),
// UNBLOCK1 = puk, DF_RETAILER/EF 6F01 = key file readable after CHV1, writable with ADM1 = issuer_code.
CardImage make_retailer_card(std::string_view serial, std::string_view pin, std::string_view puk,
                             ByteView issuer_code, const RetailerKeys& keys);

// "1234" -> 31 32 33 34 FF FF FF FF. Fails unless 4..8 ASCII digits.
Result<SecretBytes> encode_pin(std::string_view digits);

}  // namespace cardperso::cardsim
