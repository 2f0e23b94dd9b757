#include <gtest/gtest.h>

#include <algorithm>

#include "cardperso/common/ed25519.hpp"

using namespace cardperso;
using namespace cardperso::crypto;

namespace {

struct Rfc8032Case {
  const char* secret;
  const char* public_key;
  const char* message;
  const char* signature;
};

// RFC 8032 §7.1, tests 1 to 3.
constexpr Rfc8032Case kCases[] = {
    {"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
    {"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
    {"c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
     "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"},
};

Ed25519Public public_of(const char* text) {
  Ed25519Public p{};
  const Bytes b = hex(text);
  std::copy(b.begin(), b.end(), p.begin());
  return p;
}

}  // namespace

TEST(Ed25519, Rfc8032Section7_1SignsAndVerifies) {
  for (const auto& c : kCases) {
    const Ed25519Signer signer{SecretBytes(hex(c.secret))};
    EXPECT_EQ(to_hex(signer.public_key()), c.public_key);
    const Bytes message = hex(c.message);
    const auto signature = signer.sign(message);
    EXPECT_EQ(to_hex(signature), c.signature);
    EXPECT_TRUE(ed25519_verify(public_of(c.public_key), message, signature));
  }
}

TEST(Ed25519, RefusesAlteredMessageSignatureOrKey) {
  const auto& c = kCases[2];
  const Bytes message = hex(c.message);
  Ed25519Signature signature{};
  const Bytes s = hex(c.signature);
  std::copy(s.begin(), s.end(), signature.begin());
  ASSERT_TRUE(ed25519_verify(public_of(c.public_key), message, signature));

  Bytes other = message;
  other[0] ^= 1;
  EXPECT_FALSE(ed25519_verify(public_of(c.public_key), other, signature));
  auto bad = signature;
  bad[10] ^= 0x80;
  EXPECT_FALSE(ed25519_verify(public_of(c.public_key), message, bad));
  // Another test's public key, and a value that is not a point of the curve at all.
  EXPECT_FALSE(ed25519_verify(public_of(kCases[0].public_key), message, signature));
  EXPECT_FALSE(ed25519_verify(public_of("0200000000000000000000000000000000000000000000000000000000000000"), message,
                              signature));
  EXPECT_THROW(Ed25519Signer(SecretBytes(16)), std::invalid_argument);
}
