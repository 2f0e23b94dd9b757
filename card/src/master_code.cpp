#include "cardperso/card/master_code.hpp"

#include "cardperso/card/file_ids.hpp"
#include "cardperso/common/crypto.hpp"

namespace cardperso::card {

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

}  // namespace cardperso::card
