// The master-code KDF and ICCID numbering the ADS computes must equal the card side's documented ones.
#include "cardperso/ads/store/card_codes.hpp"

#include <gtest/gtest.h>

#include "cardperso/cardsim/card_builders.hpp"

namespace cardperso::ads {
namespace {

const Bytes kSecret = hex("000102030405060708090a0b0c0d0e0f");

TEST(CardCodesTest, MasterCodeEqualsTheKnownAnswersOfDocsCards) {
  // docs/cards.md §2.1, computed there with Python's hmac.
  EXPECT_EQ(to_hex(derive_master_code(kSecret, "8988211000000000011").view()), "c46919dfc5bcc287");
  EXPECT_EQ(to_hex(derive_master_code(kSecret, "8988211320300000028").view()), "a5fc09e1663772c8");
  EXPECT_NE(to_hex(derive_master_code(kSecret, "8988211000000000029").view()), "c46919dfc5bcc287");
}

TEST(CardCodesTest, MasterCodeEqualsTheCardSimulatorsDerivation) {
  for (std::uint64_t serial : {1ULL, 2ULL, 99999ULL, 12345678901ULL}) {
    const std::string iccid = batch_iccid("8988211", serial).value();
    EXPECT_EQ(to_hex(derive_master_code(kSecret, iccid).view()),
              to_hex(cardsim::derive_master_code(kSecret, iccid).view()));
  }
}

TEST(CardCodesTest, BatchIccidsArePrefixSerialAndLuhnLikeMkcards) {
  EXPECT_EQ(luhn_digit("898821132030000002"), '8');  // ISO/IEC 7812-1 Annex B
  EXPECT_EQ(batch_iccid("89882113203", 2).value(), "8988211320300000028");
  EXPECT_EQ(batch_iccid("8988211", 1).value(), "8988211000000000011");
  for (std::uint64_t serial = 0; serial < 200; ++serial) {
    const std::string iccid = batch_iccid("894900", serial).value();
    ASSERT_EQ(iccid.size(), 19u);
    EXPECT_EQ(iccid.back(), cardsim::luhn_digit(iccid.substr(0, 18)));
    EXPECT_TRUE(cardsim::encode_iccid(iccid).ok()) << iccid;  // the card side accepts its Luhn digit
  }
  EXPECT_FALSE(batch_iccid("8", 1).ok());
  EXPECT_FALSE(batch_iccid("898821132030000002", 1).ok());  // no room for a serial
  EXPECT_FALSE(batch_iccid("89882113203", 10000000).ok());  // serial too long for the 7 digits left
  EXPECT_FALSE(batch_iccid("89a8", 1).ok());
}

TEST(CardCodesTest, AdmEncodingsOfPysimProg) {
  EXPECT_EQ(to_hex(encode_adm_digits("89250005").value().view()), "3839323530303035");  // pySim-prog CSV ADM column form
  EXPECT_EQ(to_hex(encode_adm_digits("1234").value().view()), "31323334ffffffff");
  EXPECT_EQ(to_hex(encode_adm_hex("0123456789ABCDEF").value().view()), "0123456789abcdef");
  EXPECT_FALSE(encode_adm_digits("").ok());
  EXPECT_FALSE(encode_adm_digits("123456789").ok());
  EXPECT_FALSE(encode_adm_digits("12a4").ok());
  EXPECT_FALSE(encode_adm_hex("0123456789abcde").ok());
  EXPECT_FALSE(encode_adm_hex("0123456789abcdeg").ok());
}

}  // namespace
}  // namespace cardperso::ads
