// The GSUP/IPA codec of the osmo-hlr test client, byte for byte: what we send is checked against
// bytes built by hand from libosmocore 1.7 (ipa.c, gsup.c), what we read against libosmocore's
// own test vectors (tests/gsup/gsup_test.c).
#include <gtest/gtest.h>

#include "cardperso/testing/gsup_codec.hpp"

namespace cardperso::testing::gsup {
namespace {

// IMSI 123456789012345 in TBCD with its IE header, from libosmocore's gsup_test.c.
const Bytes kImsiIe = hex("0108 214365870921 43f5");
const std::string kImsi = "123456789012345";

Bytes gsup(std::uint8_t type, std::initializer_list<ByteView> ies) {
  Bytes out{type};
  for (auto ie : ies) out.insert(out.end(), ie.begin(), ie.end());
  return out;
}

TEST(GsupCodec, IdRespCarriesUnitAndSerialAsLength16TagValueNul) {
  auto frame = encode_ccm_id_resp("u1", "sn");
  ASSERT_TRUE(frame.ok()) << frame.error().message;
  // 00 0d fe | 05 ID_RESP | 0004 08 "u1\0" | 0004 00 "sn\0"
  EXPECT_EQ(to_hex(*frame), "000dfe05" "000408753100" "0004" "00736e00");
}

TEST(GsupCodec, IdRespRefusesEmptyOrOverlongNames) {
  EXPECT_FALSE(encode_ccm_id_resp("", "sn").ok());
  EXPECT_FALSE(encode_ccm_id_resp("u1", std::string(254, 'x')).ok());
  EXPECT_FALSE(encode_ccm_id_resp(std::string("a\0b", 3), "sn").ok());
  EXPECT_TRUE(encode_ccm_id_resp("u1", std::string(253, 'x')).ok());
}

TEST(GsupCodec, PongIsTheFourByteCcmFrame) { EXPECT_EQ(to_hex(encode_ccm_pong()), "0001fe01"); }

TEST(GsupCodec, SendAuthInfoRequestIsTypeAndTbcdImsi) {
  auto odd = encode_send_auth_info_request("001010000000123");
  ASSERT_TRUE(odd.ok()) << odd.error().message;
  EXPECT_EQ(*odd, hex("08 0108 00010100000021f3"));
  auto upstream = encode_send_auth_info_request(kImsi);
  ASSERT_TRUE(upstream.ok());
  EXPECT_EQ(*upstream, gsup(kSendAuthInfoRequest, {kImsiIe}));
  auto even = encode_send_auth_info_request("00101000000012");
  ASSERT_TRUE(even.ok());
  EXPECT_EQ(*even, hex("08 0107 00010100000021"));
}

TEST(GsupCodec, SendAuthInfoRequestAsksForACountOnlyWhenGivenOne) {
  auto two = encode_send_auth_info_request(kImsi, 2);
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(*two, gsup(kSendAuthInfoRequest, {kImsiIe, hex("520102")}));
  EXPECT_FALSE(encode_send_auth_info_request(kImsi, 6).ok());
  EXPECT_FALSE(encode_send_auth_info_request(kImsi, -1).ok());
}

TEST(GsupCodec, RequestRefusesImsisThatAreNotSixToFifteenDigits) {
  EXPECT_FALSE(encode_send_auth_info_request("12345").ok());
  EXPECT_FALSE(encode_send_auth_info_request("1234567890123456").ok());
  EXPECT_FALSE(encode_send_auth_info_request("00101000000012a").ok());
  EXPECT_TRUE(encode_send_auth_info_request("123456").ok());
}

TEST(GsupCodec, GsupFrameIsOsmoProtocolWithGsupExtension) {
  auto request = encode_send_auth_info_request("001010000000123");
  ASSERT_TRUE(request.ok());
  EXPECT_EQ(encode_gsup_frame(*request), hex("000c ee 05 08 0108 00010100000021f3"));
}

TEST(GsupCodec, DecodesAResultWithTwoGsmTuples) {
  // libosmocore gsup_test.c send_auth_info_res.
  const Bytes message = gsup(kSendAuthInfoResult,
                             {kImsiIe,
                              hex("0322 2010 0102030405060708090a0b0c0d0e0f10 2104 21222324 2208 3132333435363738"),
                              hex("0322 2010 8182838485868788898a8b8c8d8e8f90 2104 a1a2a3a4 2208 b1b2b3b4b5b6b7b8")});
  auto answer = decode_gsup_message(message);
  ASSERT_TRUE(answer.ok()) << answer.error().message;
  EXPECT_EQ(answer->message_type, kSendAuthInfoResult);
  EXPECT_EQ(answer->imsi, kImsi);
  EXPECT_FALSE(answer->cause);
  ASSERT_EQ(answer->tuples.size(), 2u);
  EXPECT_EQ(to_hex(answer->tuples[0].rand), "0102030405060708090a0b0c0d0e0f10");
  EXPECT_EQ(to_hex(answer->tuples[0].sres), "21222324");
  EXPECT_EQ(to_hex(answer->tuples[0].kc), "3132333435363738");
  EXPECT_TRUE(answer->tuples[0].ik.empty());
  EXPECT_EQ(to_hex(answer->tuples[1].rand), "8182838485868788898a8b8c8d8e8f90");
  EXPECT_EQ(to_hex(answer->tuples[1].sres), "a1a2a3a4");
  EXPECT_EQ(to_hex(answer->tuples[1].kc), "b1b2b3b4b5b6b7b8");
}

TEST(GsupCodec, DecodesTheUmtsPartOfATuple) {
  const std::string tuple_hex =
      "0362"
      "2010 a1a2a3a4a5a6a7a8a9aaabacadaeaf10 2104 b1b2b3b4 2208 c1c2c3c4c5c6c7c8"
      "2310 d1d2d3d4d5d6d7d8d9dadbdcdddedfd0 2410 e1e2e3e4e5e6e7e8e9eaebecedeeefe0"
      "2510 f1f2f3f4f5f6f7f8f9fafbfcfdfefff0 2708 9192939495969798";
  auto answer = decode_gsup_message(gsup(kSendAuthInfoResult, {kImsiIe, hex(tuple_hex)}));
  ASSERT_TRUE(answer.ok()) << answer.error().message;
  ASSERT_EQ(answer->tuples.size(), 1u);
  const AuthTuple& t = answer->tuples[0];
  EXPECT_EQ(to_hex(t.ik), "d1d2d3d4d5d6d7d8d9dadbdcdddedfd0");
  EXPECT_EQ(to_hex(t.ck), "e1e2e3e4e5e6e7e8e9eaebecedeeefe0");
  EXPECT_EQ(to_hex(t.autn), "f1f2f3f4f5f6f7f8f9fafbfcfdfefff0");
  EXPECT_EQ(to_hex(t.res), "9192939495969798");
}

TEST(GsupCodec, DecodesAnErrorWithItsCause) {
  // libosmocore gsup_test.c send_auth_info_err: cause 7, GPRS not allowed.
  auto answer = decode_gsup_message(gsup(kSendAuthInfoError, {kImsiIe, hex("020107")}));
  ASSERT_TRUE(answer.ok()) << answer.error().message;
  EXPECT_EQ(answer->message_type, kSendAuthInfoError);
  ASSERT_TRUE(answer->cause);
  EXPECT_EQ(*answer->cause, 7);
  EXPECT_TRUE(answer->tuples.empty());
  EXPECT_EQ(gmm_cause_name(2), "IMSI unknown in HLR");
}

TEST(GsupCodec, SkipsIesItDoesNotKnow) {
  // The message class IE (0x0a) osmo-hlr may add, before and inside a tuple.
  const Bytes tuple = hex("031b 2010 0102030405060708090a0b0c0d0e0f10 9901ff 2104 21222324");
  auto answer = decode_gsup_message(gsup(kSendAuthInfoResult, {kImsiIe, hex("0a0101"), tuple}));
  ASSERT_TRUE(answer.ok()) << answer.error().message;
  ASSERT_EQ(answer->tuples.size(), 1u);
  EXPECT_EQ(to_hex(answer->tuples[0].sres), "21222324");
}

TEST(GsupCodec, RefusesTruncatedMessages) {
  const Bytes tuple = hex("0322 2010 0102030405060708090a0b0c0d0e0f10 2104 21222324 2208 3132333435363738");
  const Bytes whole = gsup(kSendAuthInfoResult, {kImsiIe, tuple});
  ASSERT_TRUE(decode_gsup_message(whole).ok());
  // Every cut but the one after the IMSI IE (a result without tuples is a valid message).
  for (std::size_t cut = 0; cut < whole.size(); ++cut) {
    if (cut == 1 + kImsiIe.size()) continue;
    auto answer = decode_gsup_message(ByteView(whole).first(cut));
    EXPECT_FALSE(answer.ok()) << "cut at " << cut;
    if (!answer.ok()) {
      EXPECT_EQ(answer.error().code, Errc::Corrupt) << answer.error().message;
    }
  }
}

TEST(GsupCodec, RefusesWrongSizesAndTooManyTuples) {
  // A RAND of 15 bytes, a cause of 2 bytes, a message without the IMSI first.
  const Bytes short_rand = hex("0311 200f 0102030405060708090a0b0c0d0e0f");
  EXPECT_FALSE(decode_gsup_message(gsup(kSendAuthInfoResult, {kImsiIe, short_rand})).ok());
  EXPECT_FALSE(decode_gsup_message(gsup(kSendAuthInfoError, {kImsiIe, hex("02020002")})).ok());
  EXPECT_FALSE(decode_gsup_message(gsup(kSendAuthInfoError, {hex("020102"), kImsiIe})).ok());
  EXPECT_FALSE(decode_gsup_message(gsup(kSendAuthInfoResult, {hex("0109 2143658709214365f7")})).ok());  // 17 digits
  const Bytes tuple = hex("0312 2010 0102030405060708090a0b0c0d0e0f10");
  EXPECT_TRUE(decode_gsup_message(gsup(kSendAuthInfoResult, {kImsiIe, tuple, tuple, tuple, tuple, tuple})).ok());
  auto six = decode_gsup_message(gsup(kSendAuthInfoResult, {kImsiIe, tuple, tuple, tuple, tuple, tuple, tuple}));
  ASSERT_FALSE(six.ok());
  EXPECT_NE(six.error().message.find("more than 5"), std::string::npos) << six.error().message;
}

TEST(GsupCodec, IpaFramesAreTakenWholeAndOneAtATime) {
  Bytes buffer = hex("0001fe00 0004ee05 0102");  // a PING and the first half of a GSUP frame
  auto first = take_ipa_frame(buffer);
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(*first);
  EXPECT_EQ((*first)->protocol, kIpaProtoCcm);
  EXPECT_EQ((*first)->payload, hex("00"));
  auto partial = take_ipa_frame(buffer);
  ASSERT_TRUE(partial.ok());
  EXPECT_FALSE(*partial);
  EXPECT_EQ(buffer.size(), 6u);  // left for the next read
  buffer.push_back(0x03);
  auto second = take_ipa_frame(buffer);
  ASSERT_TRUE(second.ok() && *second);
  EXPECT_EQ((*second)->protocol, kIpaProtoOsmo);
  EXPECT_EQ((*second)->payload, hex("05010203"));
  EXPECT_TRUE(buffer.empty());
  Bytes header_only = hex("00");
  auto none = take_ipa_frame(header_only);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(*none);
}

TEST(GsupCodec, IpaFrameLongerThanTheLimitIsRefusedBeforeItArrives) {
  Bytes buffer = hex("2001 ee 05");  // announces 8193 bytes
  auto frame = take_ipa_frame(buffer);
  ASSERT_FALSE(frame.ok());
  EXPECT_EQ(frame.error().code, Errc::Corrupt);
  Bytes at_limit = hex("2000 ee");
  auto waiting = take_ipa_frame(at_limit);
  ASSERT_TRUE(waiting.ok());
  EXPECT_FALSE(*waiting);
  EXPECT_EQ(encode_ipa_frame(kIpaProtoOsmo, hex("05")), hex("0001ee05"));
}

TEST(GsupCodec, ImsiTbcdRoundTrips) {
  for (const std::string imsi : {"123456", "001010000000123", "99999999999999", "262420123456789"}) {
    auto tbcd = encode_imsi_tbcd(imsi);
    ASSERT_TRUE(tbcd.ok()) << imsi;
    auto back = decode_imsi_tbcd(*tbcd);
    ASSERT_TRUE(back.ok()) << imsi;
    EXPECT_EQ(*back, imsi);
  }
  EXPECT_FALSE(decode_imsi_tbcd(hex("2143f58709")).ok());  // a filler that is not last
}

}  // namespace
}  // namespace cardperso::testing::gsup
