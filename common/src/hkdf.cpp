// HKDF-SHA-256 (RFC 5869) through OpenSSL 3's EVP_KDF "HKDF": extract then expand.
#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <memory>
#include <stdexcept>

#include "cardperso/common/crypto.hpp"

namespace cardperso::crypto {

SecretBytes hkdf_sha256(ByteView salt, ByteView ikm, ByteView info, std::size_t length) {
  if (length == 0 || length > 255 * 32) throw std::invalid_argument("HKDF-SHA-256 output must be 1 to 8160 bytes");
  // Fetched once: a provider look-up costs more than the derivation. Kept for the process's life
  // (OpenSSL frees it at exit).
  static EVP_KDF* const kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  if (kdf == nullptr) throw std::runtime_error("OpenSSL has no HKDF");
  std::unique_ptr<EVP_KDF_CTX, decltype(&EVP_KDF_CTX_free)> ctx(EVP_KDF_CTX_new(kdf), EVP_KDF_CTX_free);
  if (!ctx) throw std::runtime_error("OpenSSL could not start HKDF");
  char digest[] = "SHA256";
  // OSSL_PARAM takes non-const pointers; OpenSSL only reads these buffers.
  auto octets = [](const char* name, ByteView v) {
    return OSSL_PARAM_construct_octet_string(name, const_cast<std::uint8_t*>(v.data()), v.size());
  };
  // An empty salt or info is left out rather than passed as a null buffer, which OpenSSL refuses; an
  // absent salt is HashLen zero bytes (RFC 5869 §2.2), the same HMAC key as an empty one.
  OSSL_PARAM params[5];
  std::size_t n = 0;
  params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
  params[n++] = octets(OSSL_KDF_PARAM_KEY, ikm);
  if (!salt.empty()) params[n++] = octets(OSSL_KDF_PARAM_SALT, salt);
  if (!info.empty()) params[n++] = octets(OSSL_KDF_PARAM_INFO, info);
  params[n] = OSSL_PARAM_construct_end();
  SecretBytes out(length);
  if (EVP_KDF_derive(ctx.get(), out.data(), out.size(), params) != 1) throw std::runtime_error("HKDF-SHA-256 failed in OpenSSL");
  return out;
}

}  // namespace cardperso::crypto
