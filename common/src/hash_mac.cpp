#include <openssl/evp.h>

#include <memory>
#include <stdexcept>

#include "cardperso/common/crypto.hpp"
#include "fetched_algorithms.hpp"

namespace cardperso::crypto {

std::array<std::uint8_t, 32> sha256(ByteView data) {
  std::array<std::uint8_t, 32> out{};
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, detail::sha256(), nullptr) != 1 || len != out.size())
    throw std::runtime_error("SHA-256 failed in OpenSSL");
  return out;
}

std::array<std::uint8_t, 32> hmac_sha256(ByteView key, ByteView data) {
  std::unique_ptr<EVP_MAC_CTX, decltype(&EVP_MAC_CTX_free)> ctx(
      EVP_MAC_CTX_dup(detail::hmac_sha256_template()), EVP_MAC_CTX_free);
  static const std::uint8_t kNoKey = 0;  // OpenSSL wants a pointer even for an empty key
  std::array<std::uint8_t, 32> out{};
  std::size_t len = 0;
  if (!ctx || EVP_MAC_init(ctx.get(), key.empty() ? &kNoKey : key.data(), key.size(), nullptr) != 1 ||
      EVP_MAC_update(ctx.get(), data.data(), data.size()) != 1 ||
      EVP_MAC_final(ctx.get(), out.data(), &len, out.size()) != 1 || len != out.size())
    throw std::runtime_error("HMAC-SHA-256 failed in OpenSSL");
  return out;
}

}  // namespace cardperso::crypto
