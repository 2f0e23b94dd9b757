#pragma once
// The two cards the APDU targets start from, shared with the corpus generator (fixed, non-secret
// values: fuzzing only).
#include <string>

#include "cardperso/cardsim/card_builders.hpp"
#include "cardperso/common/bytes.hpp"

namespace fuzz_cards {

inline const char* kIccid = "8988211320300000028";
inline const char* kPin = "1234";
inline const char* kPuk = "12345678";

inline cardperso::Bytes master_code() { return cardperso::hex("3132333435363738"); }
inline cardperso::Bytes issuer_code() { return cardperso::hex("a1a2a3a4a5a6a7a8"); }
inline cardperso::Bytes retailer_k_ra() { return cardperso::hex("5a5a5a5a0123456789abcdef5a5a5a5a"); }

inline cardperso::cardsim::CardImage blank_sim() {
  return cardperso::cardsim::make_blank_sim(kIccid, master_code());
}

inline cardperso::cardsim::CardImage retailer_card() {
  cardperso::cardsim::RetailerKeys keys;
  keys.key_version = 1;
  keys.k_ra = cardperso::SecretBytes(cardperso::ByteView(retailer_k_ra()));
  keys.k_ia = cardperso::SecretBytes(cardperso::ByteView(cardperso::hex("11111111111111111111111111111111")));
  keys.k_s = cardperso::SecretBytes(cardperso::ByteView(cardperso::hex("22222222222222222222222222222222")));
  keys.k_d = cardperso::SecretBytes(cardperso::ByteView(cardperso::hex("33333333333333333333333333333333")));
  return cardperso::cardsim::make_retailer_card("0000000042", kPin, kPuk, issuer_code(), keys);
}

// VERIFY ADM1 (A0 20 00 0A 08 code).
inline cardperso::Bytes verify_adm(const cardperso::Bytes& code) {
  cardperso::Bytes apdu = cardperso::hex("A020000A08");
  apdu.insert(apdu.end(), code.begin(), code.end());
  return apdu;
}

}  // namespace fuzz_cards
