#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <limits>
#include <stdexcept>

#include "cardperso/common/crypto.hpp"

namespace cardperso {

void secure_wipe(void* data, std::size_t size) { OPENSSL_cleanse(data, size); }

namespace crypto {

void random_bytes(std::span<std::uint8_t> out) {
  if (out.empty()) return;
  if (out.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()) ||
      RAND_bytes(out.data(), static_cast<int>(out.size())) != 1)
    throw std::runtime_error("RAND_bytes failed: the system random number generator is unavailable");
}

Bytes random_bytes(std::size_t n) {
  Bytes out(n);
  random_bytes(std::span<std::uint8_t>(out));
  return out;
}

SecretBytes random_secret(std::size_t n) {
  SecretBytes out(n);
  random_bytes(out.span());
  return out;
}

}  // namespace crypto
}  // namespace cardperso
