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
using CtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CtxFree>;

CtxPtr gcm_init(ByteView key, ByteView nonce, ByteView aad, bool encrypt) {
  if (key.size() != kAesKeySize || nonce.size() != kGcmNonceSize)
    throw std::invalid_argument("AES-128-GCM needs a 16-byte key and a 12-byte nonce");
  CtxPtr ctx(EVP_CIPHER_CTX_new());
  if (!ctx) throw std::runtime_error("EVP_CIPHER_CTX_new failed");
  int len = 0;
  if (EVP_CipherInit_ex(ctx.get(), detail::aes128_gcm(), nullptr, nullptr, nullptr, encrypt ? 1 : 0) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(nonce.size()), nullptr) != 1 ||
      EVP_CipherInit_ex(ctx.get(), nullptr, nullptr, key.data(), nonce.data(), encrypt ? 1 : 0) != 1)
    throw std::runtime_error("AES-128-GCM initialisation failed in OpenSSL");
  if (!aad.empty() && EVP_CipherUpdate(ctx.get(), nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1)
    throw std::runtime_error("AES-128-GCM associated data failed in OpenSSL");
  return ctx;
}
}  // namespace

Bytes aes128_gcm_seal(ByteView key, ByteView nonce, ByteView aad, ByteView plaintext) {
  auto ctx = gcm_init(key, nonce, aad, true);
  Bytes out(plaintext.size() + kGcmTagSize);
  int len = 0;
  int total = 0;
  if (!plaintext.empty()) {
    if (EVP_EncryptUpdate(ctx.get(), out.data(), &len, plaintext.data(), static_cast<int>(plaintext.size())) != 1)
      throw std::runtime_error("AES-128-GCM encryption failed in OpenSSL");
    total = len;
  }
  if (EVP_EncryptFinal_ex(ctx.get(), out.data() + total, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kGcmTagSize),
                          out.data() + plaintext.size()) != 1)
    throw std::runtime_error("AES-128-GCM finalisation failed in OpenSSL");
  return out;
}

Result<Bytes> aes128_gcm_open(ByteView key, ByteView nonce, ByteView aad, ByteView sealed) {
  if (sealed.size() < kGcmTagSize) return fail("sealed message shorter than its 16-byte tag");
  auto ctx = gcm_init(key, nonce, aad, false);
  const std::size_t ct_len = sealed.size() - kGcmTagSize;
  Bytes out(ct_len);
  int len = 0;
  if (ct_len > 0 &&
      EVP_DecryptUpdate(ctx.get(), out.data(), &len, sealed.data(), static_cast<int>(ct_len)) != 1)
    return fail("AES-128-GCM decryption failed");
  Bytes tag(sealed.begin() + static_cast<std::ptrdiff_t>(ct_len), sealed.end());
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kGcmTagSize), tag.data()) != 1)
    return fail("AES-128-GCM tag could not be set");
  if (EVP_DecryptFinal_ex(ctx.get(), out.data() + len, &len) != 1) {
    secure_wipe(out.data(), out.size());
    return fail("authentication tag does not verify: the message was altered or sealed under another key");
  }
  return out;
}

}  // namespace cardperso::crypto
