#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <memory>
#include <stdexcept>

#include "cardperso/common/crypto.hpp"
#include "fetched_algorithms.hpp"

namespace cardperso::crypto {

namespace {
struct CtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};

Block aes128_block(ByteView key, ByteView block, bool encrypt) {
  if (key.size() != kAesKeySize || block.size() != kAesBlockSize)
    throw std::invalid_argument("AES-128 block operation needs a 16-byte key and a 16-byte block");
  std::unique_ptr<EVP_CIPHER_CTX, CtxFree> ctx(EVP_CIPHER_CTX_new());
  if (!ctx) throw std::runtime_error("EVP_CIPHER_CTX_new failed");
  Block out{};
  int len = 0;
  if (EVP_CipherInit_ex(ctx.get(), detail::aes128_ecb(), nullptr, key.data(), nullptr, encrypt ? 1 : 0) != 1 ||
      EVP_CIPHER_CTX_set_padding(ctx.get(), 0) != 1 ||
      EVP_CipherUpdate(ctx.get(), out.data(), &len, block.data(), static_cast<int>(block.size())) != 1 ||
      len != static_cast<int>(kAesBlockSize))
    throw std::runtime_error("AES-128 block operation failed in OpenSSL");
  return out;
}
}  // namespace

Block aes128_encrypt_block(ByteView key, ByteView block) { return aes128_block(key, block, true); }
Block aes128_decrypt_block(ByteView key, ByteView block) { return aes128_block(key, block, false); }

Block aes128_encrypt_xor(ByteView key, ByteView a, ByteView b) {
  if (a.size() != kAesBlockSize || b.size() != kAesBlockSize)
    throw std::invalid_argument("aes128_encrypt_xor: both blocks must be 16 bytes");
  Block mixed;
  for (std::size_t i = 0; i < kAesBlockSize; ++i) mixed[i] = a[i] ^ b[i];
  Block out = aes128_block(key, mixed, true);
  OPENSSL_cleanse(mixed.data(), mixed.size());
  return out;
}

bool ct_equal(ByteView a, ByteView b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace cardperso::crypto
