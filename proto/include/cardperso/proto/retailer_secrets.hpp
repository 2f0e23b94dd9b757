#pragma once
// What the STE's side of the handshake needs from a retailer's long-term keys: three computations,
// never the keys themselves. On a terminal they run inside the retailer card (ste::CardRetailerSecrets
// sends the card's own commands, docs/cards.md §2.2), so nobody holding the card and its PIN can read
// a key. KeyedRetailerSecrets computes the same from keys in memory, for tests and the load generator.
#include <memory>

#include "cardperso/common/bytes.hpp"
#include "cardperso/common/result.hpp"
#include "cardperso/common/secret_bytes.hpp"
#include "cardperso/proto/actions.hpp"
#include "cardperso/proto/messages.hpp"

namespace cardperso::proto {

enum class SessionKeyRole { SkS, SkD };

class RetailerSecrets {
 public:
  virtual ~RetailerSecrets() = default;
  // AES_K_RA(RN1): the retailer cryptogram of H3.
  virtual Result<Block16> retailer_cryptogram(ByteView rn1) = 0;
  // Whether the issuer's answer in H4 equals AES_K_IA(RN2), compared in constant time where the key is.
  virtual Result<bool> issuer_matches(ByteView rn2, ByteView issuer_cryptogram) = 0;
  // AES_K(RN_ads XOR RN_ste) under K_S (SkS) or K_D (SkD): the patent's session-key input.
  virtual Result<SecretBytes> session_key_input(SessionKeyRole key, ByteView rn_ads, ByteView rn_ste) = 0;
};

class KeyedRetailerSecrets final : public RetailerSecrets {
 public:
  // keys must be complete (four 16-byte keys; std::invalid_argument otherwise). Wiped on destruction.
  explicit KeyedRetailerSecrets(RetailerKeys keys);
  ~KeyedRetailerSecrets() override;
  KeyedRetailerSecrets(const KeyedRetailerSecrets&) = delete;
  KeyedRetailerSecrets& operator=(const KeyedRetailerSecrets&) = delete;

  Result<Block16> retailer_cryptogram(ByteView rn1) override;
  Result<bool> issuer_matches(ByteView rn2, ByteView issuer_cryptogram) override;
  Result<SecretBytes> session_key_input(SessionKeyRole key, ByteView rn_ads, ByteView rn_ste) override;

 private:
  RetailerKeys keys_;
};

}  // namespace cardperso::proto
