#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <stdexcept>

#include "cardperso/common/crypto.hpp"

namespace cardperso::crypto {

std::array<std::uint8_t, 32> sha256(ByteView data) {
  std::array<std::uint8_t, 32> out{};
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr) != 1 || len != out.size())
    throw std::runtime_error("SHA-256 failed in OpenSSL");
  return out;
}

std::array<std::uint8_t, 32> hmac_sha256(ByteView key, ByteView data) {
  std::array<std::uint8_t, 32> out{};
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), data.data(), data.size(), out.data(), &len) ==
          nullptr ||
      len != out.size())
    throw std::runtime_error("HMAC-SHA-256 failed in OpenSSL");
  return out;
}

}  // namespace cardperso::crypto
