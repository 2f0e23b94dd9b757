#pragma once
// The crypto primitives the protocol and the cards need, all through OpenSSL EVP: no hand-written
// cipher. Keys are AES-128 (16 bytes) throughout.
#include <array>
#include <cstdint>
#include <span>

#include "cardperso/common/bytes.hpp"
#include "cardperso/common/result.hpp"
#include "cardperso/common/secret_bytes.hpp"

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

}  // namespace cardperso::crypto
