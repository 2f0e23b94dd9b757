#include "cardperso/proto/session_keys.hpp"

#include <algorithm>
#include <stdexcept>
#include <string_view>

#include "cardperso/common/crypto.hpp"

namespace cardperso::proto {

namespace {
Block16 encipher(const SecretBytes& key, ByteView block) {
  if (key.size() != crypto::kAesKeySize || block.size() != crypto::kAesBlockSize)
    throw std::invalid_argument("a 16-byte key and a 16-byte block are needed");
  return crypto::aes128_encrypt_block(key.view(), block);
}
}  // namespace

SecretBytes derive_session_key(const SecretBytes& key, ByteView rn_ads, ByteView rn_ste) {
  if (rn_ads.size() != 16 || rn_ste.size() != 16) throw std::invalid_argument("session nonces must be 16 bytes");
  if (key.size() != crypto::kAesKeySize) throw std::invalid_argument("a 16-byte key is needed");
  auto block = crypto::aes128_encrypt_xor(key.view(), rn_ads, rn_ste);
  SecretBytes out{ByteView(block)};
  secure_wipe(block.data(), block.size());
  return out;
}

SecretBytes session_key(ConfirmedKey which, const SecretBytes& patent_input, const SecretBytes& shared,
                        const TranscriptHash& t2) {
  if (patent_input.size() != 16 || shared.size() != crypto::kX25519Size)
    throw std::invalid_argument("session_key needs a 16-byte patent input and a 32-byte X25519 secret");
  const std::string_view label = which == ConfirmedKey::SkS ? "cardperso v2 SK_S" : "cardperso v2 SK_D";
  SecretBytes ikm(patent_input.size() + shared.size());
  std::copy(patent_input.view().begin(), patent_input.view().end(), ikm.data());
  std::copy(shared.view().begin(), shared.view().end(), ikm.data() + patent_input.size());
  return crypto::hkdf_sha256(t2, ikm.view(), ByteView(reinterpret_cast<const std::uint8_t*>(label.data()), label.size()), 16);
}

Block16 retailer_cryptogram(const SecretBytes& k_ra, ByteView rn1) { return encipher(k_ra, rn1); }
Block16 issuer_cryptogram(const SecretBytes& k_ia, ByteView rn2) { return encipher(k_ia, rn2); }

}  // namespace cardperso::proto
