// X25519 (RFC 7748) through OpenSSL's EVP_PKEY_X25519: the ephemeral key agreement that gives the
// session keys forward secrecy (proto/PROTOCOL.md §6.2).
#include <openssl/evp.h>

#include <memory>
#include <stdexcept>
#include <utility>

#include "cardperso/common/crypto.hpp"

namespace cardperso::crypto {

namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;

Error small_order() {
  return fail(Errc::InvalidInput, "the peer's X25519 share is of small order (the shared secret would be zero)");
}

}  // namespace

X25519KeyPair::X25519KeyPair(const SecretBytes& private_key) {
  if (private_key.size() != kX25519Size) throw std::invalid_argument("an X25519 private key is 32 bytes");
  // OpenSSL computes the public key here, once.
  key_ = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, private_key.data(), private_key.size());
  if (key_ == nullptr) throw std::runtime_error("OpenSSL refused an X25519 private key");
  std::size_t len = public_.size();
  if (EVP_PKEY_get_raw_public_key(key_, public_.data(), &len) != 1 || len != public_.size()) {
    EVP_PKEY_free(key_);
    throw std::runtime_error("OpenSSL did not give the X25519 public key");
  }
}

X25519KeyPair::~X25519KeyPair() { EVP_PKEY_free(key_); }

X25519KeyPair::X25519KeyPair(X25519KeyPair&& other) noexcept
    : key_(std::exchange(other.key_, nullptr)), public_(other.public_) {}

X25519KeyPair& X25519KeyPair::operator=(X25519KeyPair&& other) noexcept {
  if (this != &other) {
    EVP_PKEY_free(key_);
    key_ = std::exchange(other.key_, nullptr);
    public_ = other.public_;
  }
  return *this;
}

Result<SecretBytes> X25519KeyPair::shared_secret(ByteView peer_public) const {
  if (key_ == nullptr) throw std::logic_error("X25519KeyPair used after it was moved from");
  if (peer_public.size() != kX25519Size) return fail(Errc::InvalidInput, "the peer's X25519 share is not 32 bytes");
  Pkey peer(EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, peer_public.data(), peer_public.size()));
  if (!peer) return fail(Errc::InvalidInput, "the peer's X25519 share is not a usable public key");
  PkeyCtx ctx(EVP_PKEY_CTX_new(key_, nullptr));
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1) throw std::runtime_error("OpenSSL could not start an X25519 derivation");
  if (EVP_PKEY_derive_set_peer(ctx.get(), peer.get()) != 1) return fail(Errc::InvalidInput, "the peer's X25519 share was refused");
  SecretBytes shared(kX25519Size);
  std::size_t len = shared.size();
  // OpenSSL fails the derivation when the result is all zeros: a share of small order, which a
  // relay could substitute to make the secret known to itself (RFC 7748 §6.1). Checked here too.
  if (EVP_PKEY_derive(ctx.get(), shared.data(), &len) != 1 || len != kX25519Size) return small_order();
  std::uint8_t any = 0;
  for (std::size_t i = 0; i < shared.size(); ++i) any |= shared[i];
  if (any == 0) return small_order();
  return shared;
}

X25519Public x25519_public(const SecretBytes& private_key) { return X25519KeyPair(private_key).public_key(); }

Result<SecretBytes> x25519_shared(const SecretBytes& private_key, ByteView peer_public) {
  return X25519KeyPair(private_key).shared_secret(peer_public);
}

}  // namespace cardperso::crypto
