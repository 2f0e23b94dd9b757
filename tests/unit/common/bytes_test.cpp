#include <gtest/gtest.h>

#include "cardperso/common/bytes.hpp"

using namespace cardperso;

TEST(Hex, RoundTrip) {
  EXPECT_EQ(to_hex(hex("00Ff7a")), "00ff7a");
  EXPECT_EQ(*from_hex("de ad be ef"), hex("deadbeef"));
}
TEST(Hex, RejectsOddLengthAndBadCharacters) {
  EXPECT_FALSE(from_hex("abc").has_value());
  EXPECT_FALSE(from_hex("zz").has_value());
  EXPECT_THROW(hex("0g"), std::invalid_argument);
}
TEST(BigEndian, PutAndGet) {
  Bytes b;
  put_u16(b, 0x1234);
  put_u32(b, 0xdeadbeef);
  put_u64(b, 0x0102030405060708ull);
  EXPECT_EQ(to_hex(b), "1234deadbeef0102030405060708");
  EXPECT_EQ(get_u16(b, 0), 0x1234);
  EXPECT_EQ(get_u32(b, 2), 0xdeadbeefu);
  EXPECT_EQ(get_u64(b, 6), 0x0102030405060708ull);
}
