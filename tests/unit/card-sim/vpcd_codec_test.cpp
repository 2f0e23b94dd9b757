// vpcd framing without sockets: split frames, several frames per feed, bounds.
#include <gtest/gtest.h>

#include "vpcd_codec.hpp"

using namespace cardperso;
using namespace cardperso::cardsim;

namespace {

Bytes frame(ByteView payload) { return encode_vpcd_reply(payload); }

}  // namespace

TEST(VpcdCodec, DecodesControlMessages) {
  VpcdDecoder d;
  d.feed(hex("0001 00 0001 01 0001 02 0001 04"));
  EXPECT_EQ(std::get<VpcdControl>(*d.next()), VpcdControl::PowerOff);
  EXPECT_EQ(std::get<VpcdControl>(*d.next()), VpcdControl::PowerOn);
  EXPECT_EQ(std::get<VpcdControl>(*d.next()), VpcdControl::Reset);
  EXPECT_EQ(std::get<VpcdControl>(*d.next()), VpcdControl::GetAtr);
  EXPECT_FALSE(d.next().has_value());
  EXPECT_TRUE(d.error().empty());
  EXPECT_EQ(d.buffered(), 0u);
}

TEST(VpcdCodec, UnknownControlByteIsReportedNotFatal) {
  VpcdDecoder d;
  d.feed(hex("0001 07 0001 04"));
  EXPECT_EQ(std::get<VpcdUnknownControl>(*d.next()).code, 0x07);
  EXPECT_EQ(std::get<VpcdControl>(*d.next()), VpcdControl::GetAtr);
}

TEST(VpcdCodec, DecodesApduSplitAcrossFeeds) {
  const Bytes apdu = hex("A0A4000002 3F00");
  const Bytes wire = frame(apdu);
  VpcdDecoder d;
  for (std::size_t i = 0; i + 1 < wire.size(); ++i) {
    d.feed(ByteView(wire).subspan(i, 1));
    EXPECT_FALSE(d.next().has_value()) << "after byte " << i;
  }
  d.feed(ByteView(wire).last(1));
  auto m = d.next();
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(std::get<VpcdApdu>(*m).command, apdu);
  EXPECT_FALSE(d.next().has_value());
}

TEST(VpcdCodec, SeveralFramesInOneFeedAndATrailingPartial) {
  Bytes wire = concat({frame(hex("A0F2000016")), frame(hex("04")), frame(hex("A0B000000A"))});
  wire.push_back(0x00);  // first byte of a following length
  VpcdDecoder d;
  d.feed(wire);
  EXPECT_EQ(std::get<VpcdApdu>(*d.next()).command, hex("A0F2000016"));
  EXPECT_EQ(std::get<VpcdControl>(*d.next()), VpcdControl::GetAtr);
  EXPECT_EQ(std::get<VpcdApdu>(*d.next()).command, hex("A0B000000A"));
  EXPECT_FALSE(d.next().has_value());
  EXPECT_EQ(d.buffered(), 1u);
  d.feed(hex("01 00"));
  EXPECT_EQ(std::get<VpcdControl>(*d.next()), VpcdControl::PowerOff);
}

TEST(VpcdCodec, ZeroLengthFrameIsRejectedWithAReason) {
  VpcdDecoder d;
  d.feed(hex("0000 0001 04"));
  EXPECT_FALSE(d.next().has_value());
  EXPECT_NE(d.error().find("zero-length"), std::string::npos) << d.error();
  d.feed(hex("0001 04"));  // a broken stream stays broken
  EXPECT_FALSE(d.next().has_value());
}

TEST(VpcdCodec, OversizeFrameIsRejectedBeforeItsPayloadArrives) {
  VpcdDecoder d(261);
  d.feed(hex("0106"));  // announces 262 bytes, payload not sent
  EXPECT_FALSE(d.next().has_value());
  EXPECT_NE(d.error().find("262 bytes exceeds the limit of 261"), std::string::npos) << d.error();
}

TEST(VpcdCodec, LargestFrameIsAccepted) {
  Bytes payload(0xFFFF, 0x5A);
  VpcdDecoder d;
  d.feed(frame(payload));
  auto m = d.next();
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(std::get<VpcdApdu>(*m).command.size(), 0xFFFFu);
  EXPECT_TRUE(d.error().empty());
}

TEST(VpcdCodec, EncodesRepliesWithBigEndianLength) {
  EXPECT_EQ(encode_vpcd_reply(hex("3B9811")), hex("0003 3B9811"));
  EXPECT_EQ(encode_vpcd_reply(Bytes(300, 0)).size(), 302u);
  EXPECT_EQ(encode_vpcd_reply(Bytes(300, 0))[0], 0x01);
  EXPECT_EQ(encode_vpcd_reply(Bytes(300, 0))[1], 0x2C);
  EXPECT_THROW(encode_vpcd_reply(Bytes(0x10000, 0)), std::length_error);
}

TEST(VpcdCodec, LongSessionDoesNotGrowTheBuffer) {
  VpcdDecoder d;
  const Bytes one = frame(hex("A0A4000002 3F00"));
  for (int i = 0; i < 10000; ++i) {
    d.feed(one);
    ASSERT_TRUE(d.next().has_value());
  }
  EXPECT_EQ(d.buffered(), 0u);
}
