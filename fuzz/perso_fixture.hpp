#pragma once
// Fixed, non-secret subscriber values and keypad entries for the personalisation fuzz targets and
// their seeds (fuzzing only): what the ADS would put into a script, and what a customer would type.
#include <string>

#include "cardperso/common/bytes.hpp"
#include "cardperso/common/secret_bytes.hpp"
#include "cardperso/perso/script_builder.hpp"
#include "cardperso/perso/script_executor.hpp"

namespace fuzz_perso {

inline const char* kIccid = "8988211320300000028";  // the blank SIM of card_fixture.hpp

inline cardperso::SecretBytes secret_hex(const char* text) {
  return cardperso::SecretBytes(cardperso::ByteView(cardperso::hex(text)));
}

inline cardperso::perso::PersoValues values() {
  cardperso::perso::PersoValues v;
  v.iccid = kIccid;
  v.imsi = "001010000000001";
  v.msisdn = "+41790000001";
  v.ki = secret_hex("000102030405060708090a0b0c0d0e0f");
  v.opc = secret_hex("f0e0d0c0b0a090807060504030201000");
  v.spn = "Fuzz";
  v.plmns = std::vector<cardperso::perso::Plmn>{{"001", "01"}, {"228", "01"}};
  v.issuer_code = secret_hex("a1a2a3a4a5a6a7a8");
  v.opening_code = secret_hex("3132333435363738");  // fuzz_cards::master_code()
  v.rand = cardperso::hex("00112233445566778899aabbccddeeff");
  return v;
}

inline cardperso::perso::KeypadEntries keypad() {
  cardperso::perso::KeypadEntries e;
  e.pin = cardperso::SecretBytes(cardperso::view(std::string("2468")));
  e.pin_again = cardperso::SecretBytes(cardperso::view(std::string("2468")));
  e.puk = cardperso::SecretBytes(cardperso::view(std::string("13572468")));
  return e;
}

}  // namespace fuzz_perso
