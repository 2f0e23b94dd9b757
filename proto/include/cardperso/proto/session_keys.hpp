#pragma once
// The patent's key schedule (§3-§5), with the two challenge directions under separate keys:
//   retailer cryptogram = AES_K_RA(RN1)        issuer cryptogram = AES_K_IA(RN2)
//   SK_S = AES_K_S(RN3 XOR RN4)               SK_D = AES_K_D(RN5 XOR RN6)
// The XOR is malleable by whoever relays the nonces; key confirmation over the transcript
// (transcript.hpp) is what makes that harmless.
#include "cardperso/common/bytes.hpp"
#include "cardperso/common/secret_bytes.hpp"
#include "cardperso/proto/messages.hpp"

namespace cardperso::proto {

// AES_key(rn_ads XOR rn_ste). Key and nonces must be 16 bytes (else std::invalid_argument).
SecretBytes derive_session_key(const SecretBytes& key, ByteView rn_ads, ByteView rn_ste);

Block16 retailer_cryptogram(const SecretBytes& k_ra, ByteView rn1);
Block16 issuer_cryptogram(const SecretBytes& k_ia, ByteView rn2);

}  // namespace cardperso::proto
