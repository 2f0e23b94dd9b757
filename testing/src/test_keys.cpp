#include "cardperso/testing/test_keys.hpp"

namespace cardperso::testing {

SecretBytes counting_key(std::uint8_t seed, std::uint8_t step) {
  Bytes b(16);
  for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<std::uint8_t>(seed + i * step);
  return SecretBytes(ByteView(b));
}

proto::RetailerKeys counting_retailer_keys(std::uint8_t seed, std::uint8_t step) {
  proto::RetailerKeys k;
  k.k_ra = counting_key(seed, step);
  k.k_ia = counting_key(static_cast<std::uint8_t>(seed + 0x40), step);
  k.k_s = counting_key(static_cast<std::uint8_t>(seed + 0x80), step);
  k.k_d = counting_key(static_cast<std::uint8_t>(seed + 0xc0), step);
  return k;
}

SecretBytes test_pairing_key() { return counting_key(0xA5, 3); }

proto::DeviceSigner test_device_signer(std::uint8_t seed) {
  Bytes b(crypto::kEd25519KeySize);
  for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<std::uint8_t>(seed + i);
  return std::make_shared<const crypto::Ed25519Signer>(SecretBytes(ByteView(b)));
}

}  // namespace cardperso::testing
