#include <gtest/gtest.h>

#include <stdexcept>

#include "cardperso/proto/frame.hpp"

using namespace cardperso;
using namespace cardperso::proto;

namespace {
FrameHeader sample_header() {
  FrameHeader h;
  h.channel = Channel::SteAds;
  h.type = 0x11;
  h.flags = kFlagSealed;
  h.session = 0x01020304;
  return h;
}
}  // namespace

TEST(FrameCodec, HeaderLayoutIsByteExact) {
  auto h = sample_header();
  h.length = 0x0a0b;
  EXPECT_EQ(to_hex(encode_header(h)), "4350020111010000010203040000" "0a0b");
}

TEST(FrameCodec, RoundTrip) {
  Bytes payload = hex("deadbeef");
  auto bytes = encode_frame(sample_header(), payload);
  ASSERT_EQ(bytes.size(), kHeaderSize + 4);
  auto h = decode_header(ByteView(bytes).first(kHeaderSize));
  ASSERT_TRUE(h) << h.error().message;
  EXPECT_EQ(h->channel, Channel::SteAds);
  EXPECT_EQ(h->type, 0x11);
  EXPECT_EQ(h->flags, kFlagSealed);
  EXPECT_EQ(h->session, 0x01020304u);
  EXPECT_EQ(h->length, 4u);
}

TEST(FrameCodec, RejectsEachBadHeaderField) {
  const auto good = encode_header(sample_header());
  struct Case {
    std::size_t at;
    std::uint8_t value;
    const char* expect;
  };
  for (const auto& c : {Case{0, 'X', "magic"}, Case{1, 'Q', "magic"}, Case{2, 1, "version"}, Case{2, 3, "version"}, Case{2, 0, "version"},
                        Case{3, 3, "channel"}, Case{5, 0x02, "flag"}, Case{5, 0x80, "flag"}, Case{6, 1, "reserved"},
                        Case{7, 1, "reserved"}}) {
    auto bad = good;
    bad[c.at] = c.value;
    auto h = decode_header(bad);
    ASSERT_FALSE(h) << "byte " << c.at;
    EXPECT_NE(h.error().message.find(c.expect), std::string::npos) << h.error().message;
  }
  EXPECT_FALSE(decode_header(ByteView(good).first(15)));
}

TEST(FrameCodec, LengthBound) {
  auto h = sample_header();
  h.length = kMaxPayload;
  EXPECT_TRUE(decode_header(encode_header(h)));
  h.length = kMaxPayload + 1;
  auto r = decode_header(encode_header(h));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("limit"), std::string::npos);
  EXPECT_THROW((void)encode_frame(sample_header(), Bytes(kMaxPayload + 1)), std::length_error);
  EXPECT_NO_THROW((void)encode_frame(sample_header(), Bytes(kMaxPayload)));
}

TEST(FrameDecoder, EverySplitOfTwoFrames) {
  auto a = encode_frame(sample_header(), hex("0102030405"));
  auto h2 = sample_header();
  h2.channel = Channel::LinkControl;
  h2.type = 0x03;
  h2.flags = 0;
  auto b = encode_frame(h2, {});  // zero-length payload is fine
  Bytes stream = concat({a, b});
  for (std::size_t split = 0; split <= stream.size(); ++split) {
    FrameDecoder d;
    std::vector<Frame> got;
    for (auto part : {ByteView(stream).first(split), ByteView(stream).subspan(split)}) {
      d.feed(part);
      while (true) {
        auto r = d.next();
        ASSERT_TRUE(r) << r.error().message;
        if (!*r) break;
        got.push_back(std::move(**r));
      }
    }
    ASSERT_EQ(got.size(), 2u) << "split " << split;
    EXPECT_EQ(got[0].payload, hex("0102030405"));
    EXPECT_EQ(got[1].header.type, 0x03);
    EXPECT_TRUE(got[1].payload.empty());
    EXPECT_EQ(d.buffered(), 0u);
  }
}

TEST(FrameDecoder, ByteByByte) {
  auto a = encode_frame(sample_header(), hex("aabbcc"));
  FrameDecoder d;
  for (std::size_t i = 0; i + 1 < a.size(); ++i) {
    d.feed(ByteView(a).subspan(i, 1));
    auto r = d.next();
    ASSERT_TRUE(r);
    EXPECT_FALSE(*r) << "frame produced early at byte " << i;
  }
  d.feed(ByteView(a).last(1));
  auto r = d.next();
  ASSERT_TRUE(r && *r);
  EXPECT_EQ((*r)->payload, hex("aabbcc"));
}

TEST(FrameDecoder, OversizeAnnouncementFailsBeforeThePayloadArrives) {
  auto h = sample_header();
  h.length = kMaxPayload + 1;
  FrameDecoder d;
  d.feed(encode_header(h));
  auto r = d.next();
  ASSERT_FALSE(r);
  EXPECT_TRUE(d.failed());
  EXPECT_EQ(d.buffered(), 0u);
}

TEST(FrameDecoder, StaysFailedAfterARejection) {
  FrameDecoder d;
  auto bad = encode_header(sample_header());
  bad[0] = 'Z';
  d.feed(bad);
  EXPECT_FALSE(d.next());
  d.feed(encode_frame(sample_header(), hex("01")));  // a good frame afterwards changes nothing
  auto r = d.next();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("magic"), std::string::npos);
}
