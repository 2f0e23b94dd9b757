#include <gtest/gtest.h>

#include "cardperso/common/crypto.hpp"

using namespace cardperso;
using namespace cardperso::crypto;

// FIPS-197 Appendix C.1 (AES-128).
TEST(Aes128Block, Fips197AppendixC1) {
  auto key = hex("000102030405060708090a0b0c0d0e0f");
  auto pt = hex("00112233445566778899aabbccddeeff");
  auto ct = aes128_encrypt_block(key, pt);
  EXPECT_EQ(to_hex(ct), "69c4e0d86a7b0430d8cdb78070b4c55a");
  auto back = aes128_decrypt_block(key, ct);
  EXPECT_EQ(to_hex(back), to_hex(pt));
}

// FIPS-197 Appendix B (the cipher example).
TEST(Aes128Block, Fips197AppendixB) {
  auto ct = aes128_encrypt_block(hex("2b7e151628aed2a6abf7158809cf4f3c"), hex("3243f6a8885a308d313198a2e0370734"));
  EXPECT_EQ(to_hex(ct), "3925841d02dc09fbdc118597196a0b32");
}

TEST(Aes128Block, RejectsWrongSizes) {
  EXPECT_THROW(aes128_encrypt_block(hex("00"), hex("00112233445566778899aabbccddeeff")), std::invalid_argument);
  EXPECT_THROW(aes128_encrypt_block(hex("000102030405060708090a0b0c0d0e0f"), hex("0011")), std::invalid_argument);
}

// NIST GCM spec (McGrew & Viega), test cases 2, 3 and 4 (AES-128).
TEST(Aes128Gcm, NistTestCase2) {
  auto sealed = aes128_gcm_seal(hex("00000000000000000000000000000000"), hex("000000000000000000000000"), {},
                                hex("00000000000000000000000000000000"));
  EXPECT_EQ(to_hex(sealed), "0388dace60b6a392f328c2b971b2fe78" "ab6e47d42cec13bdf53a67b21257bddf");
}

TEST(Aes128Gcm, NistTestCase4WithAad) {
  auto key = hex("feffe9928665731c6d6a8f9467308308");
  auto iv = hex("cafebabefacedbaddecaf888");
  auto pt = hex(
      "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de6"
      "57ba637b39");
  auto aad = hex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
  auto sealed = aes128_gcm_seal(key, iv, aad, pt);
  EXPECT_EQ(to_hex(sealed),
            "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a"
            "0aac973d58e091"
            "5bc94fbc3221a5db94fae95ae7121a47");
  auto opened = aes128_gcm_open(key, iv, aad, sealed);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(*opened, pt);
}

TEST(Aes128Gcm, RejectsAlteredCiphertextTagAndAad) {
  auto key = hex("feffe9928665731c6d6a8f9467308308");
  auto iv = hex("cafebabefacedbaddecaf888");
  auto aad = hex("0102");
  auto sealed = aes128_gcm_seal(key, iv, aad, hex("00112233"));
  for (std::size_t i = 0; i < sealed.size(); ++i) {
    auto bad = sealed;
    bad[i] ^= 0x01;
    EXPECT_FALSE(aes128_gcm_open(key, iv, aad, bad).ok()) << "flipped byte " << i;
  }
  EXPECT_FALSE(aes128_gcm_open(key, iv, hex("0103"), sealed).ok());
  EXPECT_FALSE(aes128_gcm_open(key, iv, aad, ByteView(sealed).first(10)).ok());
}

TEST(Random, ProducesDistinctValues) {
  auto a = random_bytes(16);
  auto b = random_bytes(16);
  EXPECT_EQ(a.size(), 16u);
  EXPECT_NE(a, b);
}

TEST(ConstantTime, Equality) {
  EXPECT_TRUE(ct_equal(hex("0102"), hex("0102")));
  EXPECT_FALSE(ct_equal(hex("0102"), hex("0103")));
  EXPECT_FALSE(ct_equal(hex("0102"), hex("010200")));
  EXPECT_TRUE(ct_equal({}, {}));
}

// FIPS 180-2 "abc" and RFC 4231 test case 2.
TEST(Hash, Sha256Abc) {
  EXPECT_EQ(to_hex(sha256(view(std::string("abc")))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}
TEST(Hash, HmacSha256Rfc4231Case2) {
  EXPECT_EQ(to_hex(hmac_sha256(view(std::string("Jefe")), view(std::string("what do ya want for nothing?")))),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

// RFC 5869 appendix A.1 (basic case with SHA-256) and A.3 (empty salt and info).
TEST(Hkdf, Rfc5869Cases1And3) {
  auto okm = hkdf_sha256(hex("000102030405060708090a0b0c"), Bytes(22, 0x0b), hex("f0f1f2f3f4f5f6f7f8f9"), 42);
  EXPECT_EQ(to_hex(okm.view()),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
  auto empty = hkdf_sha256({}, Bytes(22, 0x0b), {}, 42);
  EXPECT_EQ(to_hex(empty.view()),
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
  EXPECT_THROW(hkdf_sha256({}, Bytes(22, 0x0b), {}, 0), std::invalid_argument);
}

// RFC 7748 §6.1: Alice's and Bob's keys and their shared secret.
TEST(X25519, Rfc7748Section6_1) {
  const SecretBytes alice(hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"));
  const SecretBytes bob(hex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"));
  const auto alice_public = x25519_public(alice);
  const auto bob_public = x25519_public(bob);
  EXPECT_EQ(to_hex(alice_public), "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  EXPECT_EQ(to_hex(bob_public), "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
  auto k1 = x25519_shared(alice, bob_public);
  auto k2 = x25519_shared(bob, alice_public);
  ASSERT_TRUE(k1 && k2);
  EXPECT_EQ(to_hex(k1->view()), "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
  EXPECT_EQ(to_hex(k2->view()), to_hex(k1->view()));
}

// A share of small order would make the secret zero, known to whoever substituted it: refused.
TEST(X25519, RefusesSmallOrderAndMisSizedShares) {
  const SecretBytes alice(hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"));
  for (const char* share : {"0000000000000000000000000000000000000000000000000000000000000000",
                            "0100000000000000000000000000000000000000000000000000000000000000",
                            "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"}) {
    auto k = x25519_shared(alice, hex(share));
    ASSERT_FALSE(k) << share;
    EXPECT_EQ(k.error().code, Errc::InvalidInput);
  }
  EXPECT_FALSE(x25519_shared(alice, Bytes(31, 9)));
  EXPECT_THROW(x25519_public(SecretBytes(16)), std::invalid_argument);
}

TEST(SecretBytes, WipesOnReassignmentAndMove) {
  SecretBytes s(hex("00112233"));
  EXPECT_EQ(s.size(), 4u);
  SecretBytes moved(std::move(s));
  EXPECT_TRUE(s.empty());  // NOLINT: moved-from state is specified
  EXPECT_EQ(to_hex(moved.view()), "00112233");
  moved.wipe();
  EXPECT_TRUE(moved.empty());
}
