#pragma once
// Ed25519 (RFC 8032) through OpenSSL's EVP_PKEY_ED25519: the terminal's device key, with which the
// STE signs each handshake's transcript so that the ADS knows which enrolled terminal it talks to
// (proto/PROTOCOL.md §6.6).
#include <array>
#include <cstdint>

#include "cardperso/common/bytes.hpp"
#include "cardperso/common/secret_bytes.hpp"

struct evp_pkey_st;  // OpenSSL's EVP_PKEY

namespace cardperso::crypto {

constexpr std::size_t kEd25519KeySize = 32;        // the private key (RFC 8032's 32-byte secret) and the public key
constexpr std::size_t kEd25519SignatureSize = 64;
using Ed25519Public = std::array<std::uint8_t, kEd25519KeySize>;
using Ed25519Signature = std::array<std::uint8_t, kEd25519SignatureSize>;

// A device key pair. The public key is computed once, when the pair is made; the private key lives
// in OpenSSL's EVP_PKEY, which cleanses it when the pair is destroyed.
class Ed25519Signer {
 public:
  // private_key: 32 bytes (std::invalid_argument otherwise); the caller wipes its own copy.
  explicit Ed25519Signer(const SecretBytes& private_key);
  ~Ed25519Signer();
  Ed25519Signer(Ed25519Signer&& other) noexcept;
  Ed25519Signer& operator=(Ed25519Signer&& other) noexcept;
  Ed25519Signer(const Ed25519Signer&) = delete;
  Ed25519Signer& operator=(const Ed25519Signer&) = delete;

  const Ed25519Public& public_key() const { return public_; }
  // Pure Ed25519 over the whole message (no pre-hash, no context).
  Ed25519Signature sign(ByteView message) const;

 private:
  ::evp_pkey_st* key_ = nullptr;
  Ed25519Public public_{};
};

// True only for a valid signature of message under public_key. A public key that is not a point of
// the curve, or a malformed signature, is simply false.
bool ed25519_verify(const Ed25519Public& public_key, ByteView message, const Ed25519Signature& signature);

}  // namespace cardperso::crypto
