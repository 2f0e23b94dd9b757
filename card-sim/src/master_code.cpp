// Manufacturer master code of a blank SIM: one batch secret, one code per ICCID (docs/cards.md).
#include "cardperso/cardsim/card_builders.hpp"
#include "cardperso/cardsim/card_layout.hpp"
#include "cardperso/common/crypto.hpp"

namespace cardperso::cardsim {

SecretBytes derive_master_code(ByteView batch_secret, std::string_view iccid) {
  static constexpr std::string_view kLabel = "cardperso/v1/master-code";
  Bytes message(kLabel.begin(), kLabel.end());
  message.push_back(0x00);
  message.insert(message.end(), iccid.begin(), iccid.end());
  auto mac = crypto::hmac_sha256(batch_secret, message);
  SecretBytes code(ByteView(mac.data(), kCodeSize));
  secure_wipe(mac.data(), mac.size());
  return code;
}

}  // namespace cardperso::cardsim
