// The subscriber-value encodings with published vectors (pySim test_utils.py / ts_51_011.py; GSM 11.11
// §10), both ways.
#include <gtest/gtest.h>

#include "cardperso/card/gsm7_text.hpp"
#include "cardperso/card/iccid.hpp"
#include "cardperso/card/imsi.hpp"
#include "cardperso/card/msisdn.hpp"
#include "cardperso/card/plmn.hpp"
#include "cardperso/card/service_files.hpp"

using namespace cardperso;
using namespace cardperso::card;

TEST(Imsi, Vectors) {
  const std::pair<const char*, const char*> vectors[] = {
      {"001010000123456", "080910100000214365"},
      {"262011106487504", "082926101160845740"},
      {"00101000012345", "0801101000002143f5"},
      {"0010100001234", "0709101000002143ff"},
  };
  for (auto [imsi, ef] : vectors) {
    auto e = encode_imsi(imsi);
    ASSERT_TRUE(e) << e.error().message;
    EXPECT_EQ(to_hex(*e), ef) << imsi;
    auto d = decode_imsi(hex(ef));
    ASSERT_TRUE(d) << d.error().message;
    EXPECT_EQ(*d, imsi);
  }
}

TEST(Imsi, Refusals) {
  EXPECT_FALSE(encode_imsi("0010100001234567"));  // 16 digits
  EXPECT_FALSE(encode_imsi("00101"));
  EXPECT_FALSE(encode_imsi("00101000012345a"));
  EXPECT_FALSE(decode_imsi(hex("0809101000002143")));        // 8 bytes
  EXPECT_FALSE(decode_imsi(hex("090910100000214365")));      // length 9
  EXPECT_FALSE(decode_imsi(hex("080110100000214365")));      // parity says even, 15 digits
  EXPECT_FALSE(decode_imsi(hex("0809101000002143a5")));      // not BCD
  EXPECT_FALSE(decode_imsi(hex("0709101000002143f0")));      // junk after the length
  EXPECT_FALSE(decode_imsi(hex("ffffffffffffffffff")));      // blank file
}

TEST(Iccid, VectorAndLuhn) {
  auto e = encode_iccid("8988211320300000028");
  ASSERT_TRUE(e);
  EXPECT_EQ(to_hex(*e), "988812310203000020f8");
  auto d = decode_iccid(*e);
  ASSERT_TRUE(d);
  EXPECT_EQ(*d, "8988211320300000028");
  EXPECT_EQ(luhn_digit("898821132030000002"), '8');
  EXPECT_FALSE(encode_iccid("89882113203"));
  EXPECT_FALSE(encode_iccid("898821132030000002x"));
  EXPECT_FALSE(decode_iccid(hex("988812310203000020f8ff")));
  EXPECT_FALSE(decode_iccid(hex("9888123102030000f0f8")));  // a digit after the padding
}

TEST(Plmn, Vectors) {
  const std::tuple<const char*, const char*, const char*> vectors[] = {
      {"001", "01", "00f110"}, {"295", "10", "92f501"}, {"302", "361", "031263"}};
  for (auto [mcc, mnc, enc] : vectors) {
    auto e = encode_plmn({mcc, mnc});
    ASSERT_TRUE(e);
    EXPECT_EQ(to_hex(*e), enc);
    auto d = decode_plmn(hex(enc));
    ASSERT_TRUE(d);
    EXPECT_EQ(d->mcc, mcc);
    EXPECT_EQ(d->mnc, mnc);
  }
  EXPECT_EQ(parse_plmn("302/361")->mnc, "361");
  EXPECT_EQ(parse_plmn("29510")->mnc, "10");
  EXPECT_EQ(parse_plmn("001-01")->mcc, "001");
  EXPECT_FALSE(parse_plmn("0010"));
  EXPECT_FALSE(parse_plmn("001/1"));
  EXPECT_FALSE(encode_plmn({"01", "01"}));
}

TEST(Plmn, SelectorPaddedWithFfffff) {
  auto e = encode_plmnsel({{"001", "01"}, {"302", "361"}}, 24);
  ASSERT_TRUE(e);
  EXPECT_EQ(to_hex(*e), "00f110031263" + std::string(36, 'f'));
  auto d = decode_plmnsel(*e);
  ASSERT_TRUE(d);
  EXPECT_EQ(*d, (std::vector<Plmn>{{"001", "01"}, {"302", "361"}}));
  EXPECT_FALSE(encode_plmnsel({{"001", "01"}, {"001", "02"}}, 3));  // does not fit
  EXPECT_FALSE(encode_plmnsel({}, 25));
}

TEST(Spn, Vector) {
  auto e = encode_spn({0x01, "GSM-R CH"});
  ASSERT_TRUE(e);
  EXPECT_EQ(to_hex(*e), "0147534d2d52204348ffffffffffffffff");
  auto d = decode_spn(*e);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->name, "GSM-R CH");
  EXPECT_EQ(d->display_condition, 0x01);
}

TEST(Spn, Gsm7SubsetAndRefusals) {
  EXPECT_EQ(to_hex(*encode_gsm7("@$_a")), "00021161");
  EXPECT_EQ(*decode_gsm7(hex("00021161")), "@$_a");
  EXPECT_FALSE(encode_spn({1, "caf\xc3\xa9"}));          // UTF-8 é
  EXPECT_FALSE(encode_spn({1, "a[b]"}));                 // extension table
  EXPECT_FALSE(encode_spn({1, "12345678901234567"}));   // 17 characters
  EXPECT_FALSE(encode_spn({4, "x"}));                    // display condition bits
  EXPECT_FALSE(decode_spn(hex("0141ff42ffffffffffffffffffffffffff")));  // text after padding
}

TEST(Msisdn, Vectors) {
  // ts_51_011.py EF_MSISDN: 34-byte records (20 alpha bytes), TON/NPI B1 (network specific).
  auto a = encode_msisdn_record({"12345", 0xB1, ""}, 34);
  ASSERT_TRUE(a);
  EXPECT_EQ(to_hex(*a), "ffffffffffffffffffffffffffffffffffffffff04b12143f5ffffffffffffffffff");
  auto b = encode_msisdn_record({"+4917279119183", std::nullopt, "Eigene Rufnummer"}, 34);
  ASSERT_TRUE(b);
  EXPECT_EQ(to_hex(*b), "456967656e65205275666e756d6d6572ffffffff0891947172199181f3ffffffffff");
  auto c = encode_msisdn_record({"123456789", 0xB1, ""}, 34);
  ASSERT_TRUE(c);
  EXPECT_EQ(to_hex(*c), "ffffffffffffffffffffffffffffffffffffffff06b121436587f9ffffffffffffff");

  auto d = decode_msisdn_record(*b);
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->number, "+4917279119183");
  EXPECT_EQ(d->alpha, "Eigene Rufnummer");
  EXPECT_EQ(*d->ton_npi, 0x91);
  EXPECT_EQ(decode_msisdn_record(*a)->number, "12345");

  EXPECT_FALSE(encode_msisdn_record({"123456789012345678901", std::nullopt, ""}, 34));  // 21 digits
  EXPECT_FALSE(encode_msisdn_record({"+", std::nullopt, ""}, 34));
  EXPECT_FALSE(encode_msisdn_record({"12345", std::nullopt, "far too long an alpha id"}, 34));
  EXPECT_FALSE(encode_msisdn_record({"12345", std::nullopt, ""}, 13));
  EXPECT_FALSE(decode_msisdn_record(hex("ff0c81214365870921436587f9ffff")));  // BCD length 12
}

TEST(Sst, TwoBitsPerService) {
  // Services 1 (b1,b2), 2 (b3,b4), 4 (b7,b8) -> CF; 7 -> byte 1 bits 5,6 -> 30; 17 -> byte 4 -> 03.
  auto e = encode_sst({1, 2, 4, 7, 17}, 5);
  ASSERT_TRUE(e);
  EXPECT_EQ(to_hex(*e), "cf30000003");
  EXPECT_EQ(decode_sst(*e), (std::vector<int>{1, 2, 4, 7, 17}));
  EXPECT_EQ(decode_sst(hex("01")), std::vector<int>{});  // allocated, not activated
  EXPECT_FALSE(encode_sst({21}, 5));
  EXPECT_FALSE(encode_sst({0}, 5));
  EXPECT_FALSE(encode_sst({3, 3}, 5));
}

TEST(Acc, FromLastImsiDigit) {
  EXPECT_EQ(to_hex(*encode_acc_from_imsi("001010000123450")), "0001");
  EXPECT_EQ(to_hex(*encode_acc_from_imsi("001010000123456")), "0040");
  EXPECT_EQ(to_hex(*encode_acc_from_imsi("001010000123459")), "0200");
  EXPECT_FALSE(encode_acc_from_imsi(""));
}

TEST(Ad, ModeAndMncLength) {
  EXPECT_EQ(to_hex(*encode_ad(2, 4)), "00000002");
  EXPECT_EQ(to_hex(*encode_ad(3, 4)), "00000003");
  EXPECT_EQ(to_hex(*encode_ad(2, 3)), "000000");
  EXPECT_FALSE(encode_ad(4, 4));
  EXPECT_FALSE(encode_ad(2, 9));
}
