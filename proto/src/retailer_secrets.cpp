#include "cardperso/proto/retailer_secrets.hpp"

#include <stdexcept>

#include "cardperso/common/crypto.hpp"
#include "cardperso/proto/session_keys.hpp"

namespace cardperso::proto {

KeyedRetailerSecrets::KeyedRetailerSecrets(RetailerKeys keys) : keys_(std::move(keys)) {
  if (!keys_.complete()) {
    keys_.wipe();
    throw std::invalid_argument("KeyedRetailerSecrets needs four 16-byte keys");
  }
}

KeyedRetailerSecrets::~KeyedRetailerSecrets() { keys_.wipe(); }

Result<Block16> KeyedRetailerSecrets::retailer_cryptogram(ByteView rn1) {
  if (rn1.size() != 16) return fail("RN1 must be 16 bytes");
  return proto::retailer_cryptogram(keys_.k_ra, rn1);
}

Result<bool> KeyedRetailerSecrets::issuer_matches(ByteView rn2, ByteView answer) {
  if (rn2.size() != 16) return fail("RN2 must be 16 bytes");
  Block16 expected = issuer_cryptogram(keys_.k_ia, rn2);
  const bool match = crypto::ct_equal(expected, answer);
  secure_wipe(expected.data(), expected.size());
  return match;
}

Result<SecretBytes> KeyedRetailerSecrets::session_key_input(SessionKeyRole key, ByteView rn_ads, ByteView rn_ste) {
  if (rn_ads.size() != 16 || rn_ste.size() != 16) return fail("session nonces must be 16 bytes");
  return derive_session_key(key == SessionKeyRole::SkS ? keys_.k_s : keys_.k_d, rn_ads, rn_ste);
}

}  // namespace cardperso::proto
