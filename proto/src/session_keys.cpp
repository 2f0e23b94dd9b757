#include "cardperso/proto/session_keys.hpp"

#include <stdexcept>

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
  SecretBytes mixed(16);
  for (std::size_t i = 0; i < 16; ++i) mixed[i] = rn_ads[i] ^ rn_ste[i];
  auto block = encipher(key, mixed.view());
  SecretBytes out{ByteView(block)};
  secure_wipe(block.data(), block.size());
  return out;
}

Block16 retailer_cryptogram(const SecretBytes& k_ra, ByteView rn1) { return encipher(k_ra, rn1); }
Block16 issuer_cryptogram(const SecretBytes& k_ia, ByteView rn2) { return encipher(k_ia, rn2); }

}  // namespace cardperso::proto
