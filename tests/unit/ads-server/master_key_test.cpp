#include "cardperso/ads/store/master_key.hpp"

#include <gtest/gtest.h>

#include "cardperso/common/crypto.hpp"
#include "test_support.hpp"

namespace cardperso::ads {
namespace {

using test::must;

const Bytes kKeyBytes = hex("000102030405060708090a0b0c0d0e0f");

// Two MasterKey objects hold the same key when they derive the same subkeys.
bool same_key(const MasterKey& a, const MasterKey& b) {
  return crypto::ct_equal(a.derive("probe", 32).view(), b.derive("probe", 32).view());
}

TEST(MasterKey, DeriveIsLabelledHmacSha256) {
  const auto key = MasterKey::from_bytes(kKeyBytes);
  const auto expected = crypto::hmac_sha256(kKeyBytes, view(std::string("label")));
  EXPECT_EQ(to_hex(key.derive("label", 32).view()), to_hex(expected));
  EXPECT_EQ(to_hex(key.derive("label", 16).view()), to_hex(ByteView(expected.data(), 16)));
  EXPECT_NE(to_hex(key.derive("other", 16).view()), to_hex(key.derive("label", 16).view()));
}

TEST(MasterKey, CreateWritesOwnerOnlyHexAndLoadsBack) {
  test::TempDir dir;
  const auto path = dir.file("k");
  auto created = must(MasterKey::create_file(path));
  EXPECT_EQ(test::file_mode(path), 0600u);
  const Bytes content = test::read_file(path);
  ASSERT_EQ(content.size(), 33u);
  EXPECT_EQ(content.back(), '\n');
  EXPECT_TRUE(from_hex(std::string(content.begin(), content.end() - 1)).has_value());
  auto loaded = must(MasterKey::load_file(path));
  EXPECT_TRUE(same_key(created, loaded));
  // Two keys made independently differ.
  auto other = must(MasterKey::create_file(dir.file("k2")));
  EXPECT_FALSE(same_key(created, other));
}

TEST(MasterKey, CreateNeverOverwrites) {
  test::TempDir dir;
  const auto path = dir.file("k");
  test::write_file(path, "keep me", 0600);
  auto r = MasterKey::create_file(path);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("already exists"), std::string::npos) << r.error().message;
  const Bytes content = test::read_file(path);
  EXPECT_EQ(std::string(content.begin(), content.end()), "keep me");
}

TEST(MasterKey, LoadAcceptsRawAndHexForms) {
  test::TempDir dir;
  const auto raw = dir.file("raw");
  test::write_file(raw, std::string(kKeyBytes.begin(), kKeyBytes.end()), 0600);
  const auto hexfile = dir.file("hex");
  test::write_file(hexfile, "  000102030405060708090A0B0C0D0E0F\r\n", 0400);
  const auto expected = MasterKey::from_bytes(kKeyBytes);
  EXPECT_TRUE(same_key(must(MasterKey::load_file(raw)), expected));
  EXPECT_TRUE(same_key(must(MasterKey::load_file(hexfile)), expected));
}

TEST(MasterKey, LoadRefusesAFileOthersCanRead) {
  test::TempDir dir;
  for (unsigned mode : {0640u, 0604u, 0660u, 0644u}) {
    const auto path = dir.file("k");
    test::write_file(path, "000102030405060708090a0b0c0d0e0f\n", mode);
    auto r = MasterKey::load_file(path);
    ASSERT_FALSE(r) << std::oct << mode;
    EXPECT_NE(r.error().message.find("accessible by group or others"), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("chmod 600"), std::string::npos) << r.error().message;
  }
}

TEST(MasterKey, LoadRefusesWrongSizes) {
  test::TempDir dir;
  for (const std::string& content : {std::string(15, 'k'), std::string(17, 'k'), std::string("00010203"),
                                    std::string(31, 'a'), std::string(33, 'a'), std::string(""),
                                    std::string(32, 'z'), std::string(1000, 'a')}) {
    const auto path = dir.file("k");
    test::write_file(path, content, 0600);
    auto r = MasterKey::load_file(path);
    ASSERT_FALSE(r) << content;
    EXPECT_NE(r.error().message.find("expected 16 raw bytes or 32 hex digits"), std::string::npos) << r.error().message;
  }
}

TEST(MasterKey, LoadReportsAMissingFile) {
  test::TempDir dir;
  auto r = MasterKey::load_file(dir.file("none"));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("not found"), std::string::npos) << r.error().message;
}

TEST(Sealing, RoundTripAndLayout) {
  const auto key = MasterKey::from_bytes(kKeyBytes);
  const Bytes secret = hex("00112233445566778899aabbccddeeff");
  const Bytes blob = seal_column(key, "retailers.keys", "1234567890", secret);
  ASSERT_EQ(blob.size(), 1 + 12 + secret.size() + 16);
  EXPECT_EQ(blob[0], kSealVersion);
  EXPECT_FALSE(test::contains(blob, secret));
  auto opened = must(open_column(key, "retailers.keys", "1234567890", blob));
  EXPECT_EQ(to_hex(opened.view()), to_hex(secret));
  // A fresh nonce every time: sealing the same value twice gives different blobs.
  EXPECT_NE(to_hex(seal_column(key, "retailers.keys", "1234567890", secret)), to_hex(blob));
}

TEST(Sealing, BlobIsBoundToItsPlaceAndKey) {
  const auto key = MasterKey::from_bytes(kKeyBytes);
  const Bytes blob = seal_column(key, "retailers.keys", "1234567890", hex("01020304"));
  EXPECT_FALSE(open_column(key, "retailers.keys", "1234567891", blob));        // another row
  EXPECT_FALSE(open_column(key, "retailers.issuer_code", "1234567890", blob));  // another column
  EXPECT_FALSE(open_column(key, "retailers.key", "s1234567890", blob));         // no ambiguity at the seam
  EXPECT_FALSE(open_column(MasterKey::from_bytes(hex("ff0102030405060708090a0b0c0d0e0f")), "retailers.keys",
                           "1234567890", blob));  // another key
  for (std::size_t i = 0; i < blob.size(); ++i) {
    Bytes edited = blob;
    edited[i] ^= 0x01;
    EXPECT_FALSE(open_column(key, "retailers.keys", "1234567890", edited)) << "byte " << i;
  }
  EXPECT_FALSE(open_column(key, "retailers.keys", "1234567890", ByteView(blob).first(blob.size() - 1)));
  EXPECT_FALSE(open_column(key, "retailers.keys", "1234567890", Bytes{}));
}

}  // namespace
}  // namespace cardperso::ads
