#include "transport_key_file.hpp"

#include <openssl/evp.h>

#include <array>
#include <memory>
#include <stdexcept>
#include <string_view>

#include "cardperso/common/crypto.hpp"
#include "cardperso/common/secret_file.hpp"

namespace cardperso::adsctl {

namespace {

// 64 hex digits and a newline fit many times over; anything bigger is not a key file.
constexpr std::size_t kMaxKeyFileSize = 256;
constexpr char kLowerDigits[] = "0123456789abcdef";
constexpr char kUpperDigits[] = "0123456789ABCDEF";

int hex_value(std::uint8_t c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_space(std::uint8_t c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string what_to_do(const std::string& path) {
  return "make one with `adsctl export new-transport-key " + path + "` or ask the operator for theirs";
}

}  // namespace

Result<SecretBytes> create_transport_key_file(const std::string& path) {
  SecretBytes key = crypto::random_secret(kTransportKeySize);
  SecretBytes text(2 * kTransportKeySize + 1);
  for (std::size_t i = 0; i < kTransportKeySize; ++i) {
    text[2 * i] = static_cast<std::uint8_t>(kLowerDigits[key[i] >> 4]);
    text[2 * i + 1] = static_cast<std::uint8_t>(kLowerDigits[key[i] & 0x0F]);
  }
  text[2 * kTransportKeySize] = '\n';
  if (auto made = create_secret_file(path, text); !made) {
    if (made.error().code == Errc::AlreadyExists) {
      return fail(Errc::AlreadyExists, "transport key file " + path +
                                           " already exists; refusing to overwrite it (use it as it is, or choose "
                                           "another name)");
    }
    return fail("transport key file: " + made.error().message);
  }
  return key;
}

Result<SecretBytes> read_transport_key_file(const std::string& path) {
  auto content = read_secret_file(path, kMaxKeyFileSize);
  if (!content) {
    if (content.error().code == Errc::NotFound) {
      return fail(Errc::NotFound, "transport key file " + path + " not found; " + what_to_do(path));
    }
    return fail(content.error().code, "transport key file: " + content.error().message);
  }
  const ByteView text = content->view();
  std::size_t first = 0, last = text.size();
  while (first < last && is_space(text[first])) ++first;
  while (last > first && is_space(text[last - 1])) --last;
  const std::string expected = "transport key file " + path + " must hold 64 hex digits (an AES-256 key)";
  if (last - first != 2 * kTransportKeySize) {
    return fail(Errc::InvalidInput, expected + "; it holds " + std::to_string(last - first) +
                                        " characters besides whitespace: " + what_to_do(path));
  }
  SecretBytes key(kTransportKeySize);
  for (std::size_t i = 0; i < kTransportKeySize; ++i) {
    const int high = hex_value(text[first + 2 * i]);
    const int low = hex_value(text[first + 2 * i + 1]);
    if (high < 0 || low < 0) {
      return fail(Errc::InvalidInput, expected + "; it holds other characters: " + what_to_do(path));
    }
    key[i] = static_cast<std::uint8_t>((high << 4) | low);
  }
  return key;
}

std::string key_check_value(const SecretBytes& key) {
  if (key.size() != kTransportKeySize) throw std::invalid_argument("key_check_value: the key must be 32 bytes");
  struct CtxFree {
    void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
  };
  std::unique_ptr<EVP_CIPHER_CTX, CtxFree> ctx(EVP_CIPHER_CTX_new());
  const std::array<std::uint8_t, crypto::kAesBlockSize> zeros{};
  std::array<std::uint8_t, crypto::kAesBlockSize> out{};
  int len = 0;
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_ecb(), nullptr, key.data(), nullptr) != 1 ||
      EVP_CIPHER_CTX_set_padding(ctx.get(), 0) != 1 ||
      EVP_EncryptUpdate(ctx.get(), out.data(), &len, zeros.data(), static_cast<int>(zeros.size())) != 1 ||
      len != static_cast<int>(out.size()))
    throw std::runtime_error("AES-256-ECB failed in OpenSSL");
  std::string kcv;
  for (std::size_t i = 0; i < 3; ++i) {
    kcv.push_back(kUpperDigits[out[i] >> 4]);
    kcv.push_back(kUpperDigits[out[i] & 0x0F]);
  }
  return kcv;
}

}  // namespace cardperso::adsctl
