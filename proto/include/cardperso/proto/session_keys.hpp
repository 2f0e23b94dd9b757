#pragma once
// The session-key schedule (proto/PROTOCOL.md §6.2). The patent's values stay inputs:
//   retailer cryptogram = AES_K_RA(RN1)        issuer cryptogram = AES_K_IA(RN2)
//   I_S = AES_K_S(RN3 XOR RN4)                 I_D = AES_K_D(RN5 XOR RN6)
// and each session key also takes the X25519 secret Z of two ephemeral shares (H1, H2):
//   SK_S = HKDF-SHA-256(salt = T2, IKM = I_S || Z, info = "cardperso v2 SK_S", 16 bytes)
//   SK_D = HKDF-SHA-256(salt = T2, IKM = I_D || Z, info = "cardperso v2 SK_D", 16 bytes)
// so neither a recording of the handshake nor the retailer card afterwards (with its PIN) gives a
// session key: Z needs an ephemeral private key, and both are wiped once Z is computed.
// The XOR is malleable by whoever relays the nonces; key confirmation over the transcript
// (transcript.hpp) is what makes that harmless.
#include "cardperso/common/bytes.hpp"
#include "cardperso/common/secret_bytes.hpp"
#include "cardperso/proto/messages.hpp"
#include "cardperso/proto/transcript.hpp"

namespace cardperso::proto {

// The patent's session-key input AES_key(rn_ads XOR rn_ste). Key and nonces must be 16 bytes (else
// std::invalid_argument).
SecretBytes derive_session_key(const SecretBytes& key, ByteView rn_ads, ByteView rn_ste);

// SK_S or SK_D from the patent's input, the X25519 secret and T2 (transcript_h2).
SecretBytes session_key(ConfirmedKey which, const SecretBytes& patent_input, const SecretBytes& shared,
                        const TranscriptHash& t2);

Block16 retailer_cryptogram(const SecretBytes& k_ra, ByteView rn1);
Block16 issuer_cryptogram(const SecretBytes& k_ia, ByteView rn2);

}  // namespace cardperso::proto
