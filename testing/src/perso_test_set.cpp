#include "cardperso/testing/perso_test_set.hpp"

#include "cardperso/card/master_code.hpp"

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

}  // namespace cardperso::testing::perso_set
