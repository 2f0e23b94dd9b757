// X25519 (RFC 7748) through OpenSSL's EVP_PKEY_X25519: the ephemeral key agreement that gives the
// session keys forward secrecy (proto/PROTOCOL.md §6.2).
#include <openssl/evp.h>

#include <memory>
#include <stdexcept>

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

Pkey private_key(const SecretBytes& private_key) {
  if (private_key.size() != kX25519Size) throw std::invalid_argument("an X25519 private key is 32 bytes");
  Pkey key(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, private_key.data(), private_key.size()));
  if (!key) throw std::runtime_error("OpenSSL refused an X25519 private key");
  return key;
}

}  // namespace

X25519Public x25519_public(const SecretBytes& private_key_bytes) {
  const Pkey key = private_key(private_key_bytes);
  X25519Public out{};
  std::size_t len = out.size();
  if (EVP_PKEY_get_raw_public_key(key.get(), out.data(), &len) != 1 || len != out.size())
    throw std::runtime_error("OpenSSL did not give the X25519 public key");
  return out;
}

Result<SecretBytes> x25519_shared(const SecretBytes& private_key_bytes, ByteView peer_public) {
  if (peer_public.size() != kX25519Size)
    return fail(Errc::InvalidInput, "the peer's X25519 share is not 32 bytes");
  const Pkey key = private_key(private_key_bytes);
  Pkey peer(EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, peer_public.data(), peer_public.size()));
  if (!peer) return fail(Errc::InvalidInput, "the peer's X25519 share is not a usable public key");
  PkeyCtx ctx(EVP_PKEY_CTX_new(key.get(), nullptr));
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1) throw std::runtime_error("OpenSSL could not start an X25519 derivation");
  if (EVP_PKEY_derive_set_peer(ctx.get(), peer.get()) != 1)
    return fail(Errc::InvalidInput, "the peer's X25519 share was refused");
  SecretBytes shared(kX25519Size);
  std::size_t len = shared.size();
  // OpenSSL fails the derivation when the result is all zeros: a share of small order, which a
  // relay could substitute to make the secret known to itself (RFC 7748 §6.1).
  if (EVP_PKEY_derive(ctx.get(), shared.data(), &len) != 1 || len != kX25519Size)
    return fail(Errc::InvalidInput, "the peer's X25519 share is of small order (the shared secret would be zero)");
  std::uint8_t any = 0;
  for (std::size_t i = 0; i < shared.size(); ++i) any |= shared[i];
  if (any == 0) return fail(Errc::InvalidInput, "the peer's X25519 share is of small order (the shared secret would be zero)");
  return shared;
}

}  // namespace cardperso::crypto
