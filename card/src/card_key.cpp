#include "cardperso/card/card_key.hpp"

#include <stdexcept>

namespace cardperso::card {

SecretBytes derive_card_key(ByteView batch_secret, std::string_view iccid) {
  // Its own label: the master code and the card key come from one secret and the same ICCID, and
  // the label keeps them independent (one leaked value gives nothing of the other).
  static constexpr std::string_view kLabel = "cardperso/v1/card-key";
  Bytes message(kLabel.begin(), kLabel.end());
  message.push_back(0x00);
  message.insert(message.end(), iccid.begin(), iccid.end());
  auto mac = crypto::hmac_sha256(batch_secret, message);
  SecretBytes key(ByteView(mac.data(), kCardKeySize));
  secure_wipe(mac.data(), mac.size());
  return key;
}

crypto::Block card_proof(ByteView card_key, ByteView challenge) {
  // Checked here rather than left to AES so the message names what is wrong.
  if (card_key.size() != kCardKeySize) throw std::invalid_argument("card key must be 16 bytes");
  if (challenge.size() != kCardChallengeSize) throw std::invalid_argument("card challenge must be 16 bytes");
  return crypto::aes128_encrypt_block(card_key, challenge);
}

}  // namespace cardperso::card
