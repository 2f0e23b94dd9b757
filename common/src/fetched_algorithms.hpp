#pragma once
// OpenSSL 3 looks an algorithm up by name (under a lock) at every use of EVP_aes_128_ecb(),
// EVP_sha256() or the one-shot HMAC(); a handshake makes dozens of such calls. Fetched once per
// process here, they cost the lookup once. The objects live until exit, as OpenSSL's own do.
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <stdexcept>

namespace cardperso::crypto::detail {

inline const EVP_CIPHER* aes128_ecb() {
  static EVP_CIPHER* const cipher = EVP_CIPHER_fetch(nullptr, "AES-128-ECB", nullptr);
  if (cipher == nullptr) throw std::runtime_error("OpenSSL has no AES-128-ECB");
  return cipher;
}

inline const EVP_CIPHER* aes128_gcm() {
  static EVP_CIPHER* const cipher = EVP_CIPHER_fetch(nullptr, "AES-128-GCM", nullptr);
  if (cipher == nullptr) throw std::runtime_error("OpenSSL has no AES-128-GCM");
  return cipher;
}

inline const EVP_MD* sha256() {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  if (md == nullptr) throw std::runtime_error("OpenSSL has no SHA-256");
  return md;
}

// An HMAC context with its digest (SHA-256) set, to be duplicated: setting the digest by name would
// fetch it again on every call. Read-only once made, so threads may duplicate it at once.
inline const EVP_MAC_CTX* hmac_sha256_template() {
  static EVP_MAC_CTX* const ctx = [] {
    EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    EVP_MAC_CTX* c = mac != nullptr ? EVP_MAC_CTX_new(mac) : nullptr;
    EVP_MAC_free(mac);  // the context holds its own reference
    char digest[] = "SHA256";
    const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                                 OSSL_PARAM_construct_end()};
    if (c == nullptr || EVP_MAC_CTX_set_params(c, params) != 1) throw std::runtime_error("OpenSSL has no HMAC-SHA-256");
    return c;
  }();
  return ctx;
}

}  // namespace cardperso::crypto::detail
