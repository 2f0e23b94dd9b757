// ICCID with its Luhn digit (ISO/IEC 7812-1 Annex B) and the CHV code form (GSM 11.11 §9.2.9).
#include <gtest/gtest.h>

#include "cardperso/card/chv_code.hpp"
#include "cardperso/card/iccid.hpp"

using namespace cardperso;
using namespace cardperso::card;

TEST(Iccid, LuhnAndEncoding) {
  EXPECT_EQ(luhn_digit("898821132030000002"), '8');
  EXPECT_EQ(luhn_digit("798821100000000001"), '2');
  EXPECT_EQ(luhn_digit("7992739871"), '3');  // the textbook example
  auto e = encode_iccid("8988211320300000028");
  ASSERT_TRUE(e);
  EXPECT_EQ(to_hex(*e), "988812310203000020f8");
  auto e18 = encode_iccid("898821132030000002");
  ASSERT_TRUE(e18);
  EXPECT_EQ(*e18, *e);  // the Luhn digit is added
  auto d = decode_iccid(*e);
  ASSERT_TRUE(d);
  EXPECT_EQ(*d, "8988211320300000028");
  EXPECT_FALSE(encode_iccid("8988211320300000027"));  // wrong check digit
  EXPECT_FALSE(encode_iccid("89882113203000000"));
  EXPECT_FALSE(encode_iccid("89882113203000000A8"));
  EXPECT_FALSE(decode_iccid(hex("988812310203000020")));
  EXPECT_FALSE(decode_iccid(hex("9888123102030000f0f8")));  // digit after padding
  EXPECT_FALSE(decode_iccid(hex("ffffffffffffffffffff")));
}

TEST(Pin, Encoding) {
  auto p = encode_pin("1234");
  ASSERT_TRUE(p);
  EXPECT_EQ(to_hex(p->view()), "31323334ffffffff");
  auto p8 = encode_pin("12345678");
  ASSERT_TRUE(p8);
  EXPECT_EQ(to_hex(p8->view()), "3132333435363738");
  EXPECT_FALSE(encode_pin("123"));
  EXPECT_FALSE(encode_pin("123456789"));
  EXPECT_FALSE(encode_pin("12a4"));
}

TEST(Iccid, LuhnRefusesNonDigits) { EXPECT_THROW(luhn_digit("12a4"), std::invalid_argument); }

TEST(Iccid, DecodeNeedsEighteenDigits) {
  EXPECT_FALSE(decode_iccid(hex("98881231020300ffffff")));  // 14 digits
  EXPECT_FALSE(decode_iccid(hex("988812310203000020")));    // 9 bytes
}

TEST(Pin, PadCodeDigits) {
  // An ADM code typed as digits may be shorter than a PIN: 1..8 digits.
  EXPECT_EQ(to_hex(pad_code_digits("7").value().view()), "37ffffffffffffff");
  for (const char* bad : {"", "123456789", "12 4"}) EXPECT_FALSE(pad_code_digits(bad)) << bad;
}
