#pragma once
// The crypto primitives the protocol and the cards need, all through OpenSSL EVP: no hand-written
// cipher. Keys are AES-128 (16 bytes) throughout.
#include <array>
#include <cstdint>
#include <span>

#include "cardperso/common/bytes.hpp"
#include "cardperso/common/result.hpp"
#include "cardperso/common/secret_bytes.hpp"

struct evp_pkey_st;  // OpenSSL's EVP_PKEY, for X25519KeyPair

namespace cardperso::crypto {

constexpr std::size_t kAesKeySize = 16;
constexpr std::size_t kAesBlockSize = 16;
constexpr std::size_t kGcmNonceSize = 12;
constexpr std::size_t kGcmTagSize = 16;

using Block = std::array<std::uint8_t, kAesBlockSize>;

// AES-128 on a single block (the patent's Encipher_K). Key and block must be 16 bytes: anything
// else is a programmer error and throws std::invalid_argument.
Block aes128_encrypt_block(ByteView key, ByteView block);
Block aes128_decrypt_block(ByteView key, ByteView block);
// AES_key(a XOR b) for two 16-byte blocks: the patent's session-key input (SK = Encipher_K(RN XOR RN')).
// The retailer card computes it with its keys; the ADS with its copy. The XOR is wiped.
Block aes128_encrypt_xor(ByteView key, ByteView a, ByteView b);

// AES-128-GCM. seal returns ciphertext || 16-byte tag. open fails (without saying why, by design)
// when the tag does not verify.
Bytes aes128_gcm_seal(ByteView key, ByteView nonce, ByteView aad, ByteView plaintext);
Result<Bytes> aes128_gcm_open(ByteView key, ByteView nonce, ByteView aad, ByteView sealed);

// RAND_bytes; a failing RNG is unrecoverable and throws std::runtime_error.
void random_bytes(std::span<std::uint8_t> out);
Bytes random_bytes(std::size_t n);
SecretBytes random_secret(std::size_t n);

// Constant-time equality (CRYPTO_memcmp); unequal lengths compare unequal.
bool ct_equal(ByteView a, ByteView b);

std::array<std::uint8_t, 32> sha256(ByteView data);
std::array<std::uint8_t, 32> hmac_sha256(ByteView key, ByteView data);

// HKDF-SHA-256 (RFC 5869), extract and expand; length 1 to 8160 bytes (else std::invalid_argument).
SecretBytes hkdf_sha256(ByteView salt, ByteView ikm, ByteView info, std::size_t length);

// X25519 (RFC 7748). A private key is 32 bytes from the RNG (clamped by X25519 itself).
constexpr std::size_t kX25519Size = 32;
using X25519Public = std::array<std::uint8_t, kX25519Size>;

// One handshake's key pair: the public share is computed once, when it is made; the private key
// lives in OpenSSL's EVP_PKEY, which cleanses it when the pair is destroyed.
class X25519KeyPair {
 public:
  // private_key: 32 bytes (std::invalid_argument otherwise); the caller wipes its own copy.
  explicit X25519KeyPair(const SecretBytes& private_key);
  ~X25519KeyPair();
  X25519KeyPair(X25519KeyPair&& other) noexcept;
  X25519KeyPair& operator=(X25519KeyPair&& other) noexcept;
  X25519KeyPair(const X25519KeyPair&) = delete;
  X25519KeyPair& operator=(const X25519KeyPair&) = delete;

  const X25519Public& public_key() const { return public_; }
  // The shared secret with a peer's public share. Fails (InvalidInput) for a share that is not 32
  // bytes or is of small order (the secret would be all zeros, so a relay that substituted it would
  // know it).
  Result<SecretBytes> shared_secret(ByteView peer_public) const;

 private:
  ::evp_pkey_st* key_ = nullptr;
  X25519Public public_{};
};

// One-shot forms of the above (known-answer tests, benchmarks).
X25519Public x25519_public(const SecretBytes& private_key);
Result<SecretBytes> x25519_shared(const SecretBytes& private_key, ByteView peer_public);

}  // namespace cardperso::crypto
