// The osmo-auc-gen output parser, on output captured from libosmocore-utils 1.7.0 (Debian 12):
// `osmo-auc-gen -3 -a milenage -k 000102030405060708090a0b0c0d0e0f -o 0f0e0d0c0b0a09080706050403020100
//  -r 00112233445566778899aabbccddeeff`.
#include <gtest/gtest.h>

#include "cardperso/testing/osmo_auc_gen.hpp"

namespace cardperso::testing {
namespace {

const std::string kCaptured =
    "osmo-auc-gen (C) 2011-2012 by Harald Welte\n"
    "This is FREE SOFTWARE with ABSOLUTELY NO WARRANTY\n"
    "\n"
    "RAND:\t00112233445566778899aabbccddeeff\n"
    "AUTN:\tf361ac66a4f80000d3b17fa32ea10933\n"
    "IK:\t54bc9eaf33a2096e43d421c5eb1535d8\n"
    "CK:\t71ea7234e039fa3e4bef578937a9dd46\n"
    "RES:\tfadb63b968684ae6\n"
    "IMS nonce:\tABEiM0RVZneImaq7zN3u//NhrGak+AAA07F/oy6hCTM=\n"
    "IMS res:\t+ttjuWhoSuY=\n"
    "SRES:\t92b3295f\n"
    "Kc:\t2d6d9ad70f271bce\n"
    "SQN:\t32\n"
    "IND:\t0\n";

TEST(OsmoAucGenOutput, ParsesEveryVectorField) {
  auto v = parse_osmo_auc_gen_output(kCaptured);
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_EQ(to_hex(v->rand), "00112233445566778899aabbccddeeff");
  EXPECT_EQ(to_hex(v->autn), "f361ac66a4f80000d3b17fa32ea10933");
  EXPECT_EQ(to_hex(v->ik), "54bc9eaf33a2096e43d421c5eb1535d8");
  EXPECT_EQ(to_hex(v->ck), "71ea7234e039fa3e4bef578937a9dd46");
  EXPECT_EQ(to_hex(v->res), "fadb63b968684ae6");
  EXPECT_EQ(to_hex(v->sres), "92b3295f");
  EXPECT_EQ(to_hex(v->kc), "2d6d9ad70f271bce");
}

TEST(OsmoAucGenOutput, SresIsTheXorOfTheResHalves) {
  // The GSM conversion c2 this oracle stands for: 92b3295f = fadb63b9 xor 68684ae6.
  auto v = parse_osmo_auc_gen_output(kCaptured);
  ASSERT_TRUE(v.ok());
  for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(v->sres[i], v->res[i] ^ v->res[i + 4]);
}

TEST(OsmoAucGenOutput, RefusesOutputWithoutSresOrKc) {
  EXPECT_FALSE(parse_osmo_auc_gen_output("RAND:\t00112233445566778899aabbccddeeff\n").ok());
  EXPECT_FALSE(parse_osmo_auc_gen_output("SRES:\t92b3295f\n").ok());
  EXPECT_FALSE(parse_osmo_auc_gen_output("SRES:\t92b3295f\nKc:\t2d6d9ad70f27\n").ok());  // 6-byte Kc
  EXPECT_FALSE(parse_osmo_auc_gen_output("SRES:\t92b3295g\nKc:\t2d6d9ad70f271bce\n").ok());
  EXPECT_FALSE(parse_osmo_auc_gen_output("").ok());
}

}  // namespace
}  // namespace cardperso::testing
