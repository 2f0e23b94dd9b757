#include "cardperso/testing/perso_test_set.hpp"

#include "cardperso/card/apdu_builders.hpp"
#include "cardperso/card/master_code.hpp"
#include "cardperso/card/t0_exchange.hpp"
#include "cardperso/proto/perso_messages.hpp"

namespace cardperso::testing::perso_set {

SecretBytes secret_hex(std::string_view h) {
  const Bytes b = hex(h);
  return SecretBytes(ByteView(b));
}

SecretBytes ascii_secret(std::string_view s) {
  return SecretBytes(ByteView(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()));
}

Result<perso::CardProfile> load_default_card_profile() {
  return perso::load_card_profile(std::string(CARDPERSO_PROFILES_DIR) + "/gsm-sim-default.json");
}

SecretBytes blank_master_code(std::string_view iccid) { return card::derive_master_code(hex(kBatchSecret), iccid); }

perso::PersoValues card_values(std::string iccid, SecretBytes opening_code) {
  perso::PersoValues v;
  v.iccid = std::move(iccid);
  v.imsi = "001010000123456";
  v.msisdn = "+41791234567";
  v.ki = secret_hex(kKi);
  v.opc = secret_hex(kOpc);
  v.spn = "GSM-R CH";
  v.plmns = std::vector<perso::Plmn>{{"001", "01"}, {"295", "10"}, {"302", "361"}};
  v.issuer_code = secret_hex(kIssuerCode);
  v.opening_code = std::move(opening_code);
  v.rand = hex(kRand);
  return v;
}

Result<Bytes> card_check_answer(ByteView k1_plaintext, const perso::TransmitFn& transmit, bool confirm) {
  auto k1 = proto::CardCheckMsg::decode(k1_plaintext);
  if (!k1) return k1.error();
  proto::CardCheckAnswerMsg k2;
  if (!k1->challenge.empty()) {
    auto r = card::exchange_apdu(transmit, card::card_proof_apdu(k1->challenge));
    if (!r) return r.error();
    if (!r->ok() || r->data.size() != proto::kCardChallengeSize) {
      k2.answer = proto::CheckAnswer::CardSilent;
      return k2.encode();
    }
    k2.proof = r->data;
  }
  k2.answer = confirm ? proto::CheckAnswer::Confirmed : proto::CheckAnswer::Cancelled;
  if (!confirm) k2.proof.clear();
  return k2.encode();
}

}  // namespace cardperso::testing::perso_set
