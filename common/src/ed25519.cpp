#include "cardperso/common/ed25519.hpp"

#include <openssl/evp.h>

#include <memory>
#include <stdexcept>
#include <utility>

namespace cardperso::crypto {

namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

}  // namespace

Ed25519Signer::Ed25519Signer(const SecretBytes& private_key) {
  if (private_key.size() != kEd25519KeySize) throw std::invalid_argument("an Ed25519 private key is 32 bytes");
  key_ = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, private_key.data(), private_key.size());
  if (key_ == nullptr) throw std::runtime_error("OpenSSL refused an Ed25519 private key");
  std::size_t len = public_.size();
  if (EVP_PKEY_get_raw_public_key(key_, public_.data(), &len) != 1 || len != public_.size()) {
    EVP_PKEY_free(key_);
    throw std::runtime_error("OpenSSL did not give the Ed25519 public key");
  }
}

Ed25519Signer::~Ed25519Signer() { EVP_PKEY_free(key_); }

Ed25519Signer::Ed25519Signer(Ed25519Signer&& other) noexcept
    : key_(std::exchange(other.key_, nullptr)), public_(other.public_) {}

Ed25519Signer& Ed25519Signer::operator=(Ed25519Signer&& other) noexcept {
  if (this != &other) {
    EVP_PKEY_free(key_);
    key_ = std::exchange(other.key_, nullptr);
    public_ = other.public_;
  }
  return *this;
}

Ed25519Signature Ed25519Signer::sign(ByteView message) const {
  if (key_ == nullptr) throw std::logic_error("Ed25519Signer used after it was moved from");
  MdCtx ctx(EVP_MD_CTX_new());
  Ed25519Signature signature{};
  std::size_t len = signature.size();
  // Ed25519 takes no digest of its own choosing: the md argument must be null.
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key_) != 1 ||
      EVP_DigestSign(ctx.get(), signature.data(), &len, message.data(), message.size()) != 1 || len != signature.size())
    throw std::runtime_error("OpenSSL could not make an Ed25519 signature");
  return signature;
}

bool ed25519_verify(const Ed25519Public& public_key, ByteView message, const Ed25519Signature& signature) {
  std::unique_ptr<EVP_PKEY, PkeyFree> key(
      EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, public_key.data(), public_key.size()));
  if (!key) return false;
  MdCtx ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1) return false;
  return EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), message.data(), message.size()) == 1;
}

}  // namespace cardperso::crypto
