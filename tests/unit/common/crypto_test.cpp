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

TEST(SecretBytes, WipesOnReassignmentAndMove) {
  SecretBytes s(hex("00112233"));
  EXPECT_EQ(s.size(), 4u);
  SecretBytes moved(std::move(s));
  EXPECT_TRUE(s.empty());  // NOLINT: moved-from state is specified
  EXPECT_EQ(to_hex(moved.view()), "00112233");
  moved.wipe();
  EXPECT_TRUE(moved.empty());
}
