#include "cardperso/ads/hlr/ctrl_codec.hpp"

#include <gtest/gtest.h>

#include <string>

namespace cardperso::ads::hlr {
namespace {

Bytes frame(std::string_view text, std::uint8_t proto = kIpaProtoOsmo, std::uint8_t ext = kIpaExtCtrl) {
  const std::size_t length = text.size() + 1;
  Bytes out;
  out.reserve(3 + length);  // before the inserts: GCC 12 -Warray-bounds otherwise misfires
  out.push_back(static_cast<std::uint8_t>(length >> 8));
  out.push_back(static_cast<std::uint8_t>(length));
  out.push_back(proto);
  out.push_back(ext);
  out.insert(out.end(), text.begin(), text.end());
  return out;
}

TEST(CtrlCodec, ASetIsFramedWithTheIpaHeaderAndTheOsmoCtrlExtension) {
  auto bytes = encode_ctrl_request(CtrlVerb::Set, 7, "subscriber.create", "001010000000001");
  ASSERT_TRUE(bytes);
  // "SET 7 subscriber.create 001010000000001" is 39 characters; the length counts the 0x00 too.
  EXPECT_EQ(Bytes(bytes->view().begin(), bytes->view().end()), frame("SET 7 subscriber.create 001010000000001"));
  EXPECT_EQ(bytes->view()[0], 0x00);
  EXPECT_EQ(bytes->view()[1], 40);
  auto get = encode_ctrl_request(CtrlVerb::Get, 4294967295u, "subscriber.by-imsi-001010000000001.info-all");
  ASSERT_TRUE(get);
  EXPECT_EQ(Bytes(get->view().begin(), get->view().end()),
            frame("GET 4294967295 subscriber.by-imsi-001010000000001.info-all"));
}

TEST(CtrlCodec, ValuesThatCouldSmuggleASecondCommandAreRefused) {
  EXPECT_FALSE(encode_ctrl_request(CtrlVerb::Set, 1, "subscriber.create", "001 SET 2 subscriber.delete 002"));
  EXPECT_FALSE(encode_ctrl_request(CtrlVerb::Set, 1, "subscriber.create", "00101\n"));
  EXPECT_FALSE(encode_ctrl_request(CtrlVerb::Set, 1, "a b", "1"));
  EXPECT_FALSE(encode_ctrl_request(CtrlVerb::Set, 1, "subscriber.create", ""));
  EXPECT_FALSE(encode_ctrl_request(CtrlVerb::Get, 1, ""));
  EXPECT_FALSE(encode_ctrl_request(CtrlVerb::Set, 1, "x", std::string(1025, '1')));
}

TEST(CtrlCodec, RepliesAreReassembledFromAnyChunkingAndTrapsAndOtherProtocolsSkipped) {
  Bytes stream = frame("SET_REPLY 1 subscriber.create 12");
  const Bytes ping{0x00, 0x01, 0xFE, 0x00};  // an IPA CCM PING: not CTRL
  stream.insert(stream.end(), ping.begin(), ping.end());
  const Bytes trap = frame("TRAP 0 subscriber.by-imsi-1.x 1");
  stream.insert(stream.end(), trap.begin(), trap.end());
  const Bytes error = frame("ERROR 2 Subscriber already exists.");
  stream.insert(stream.end(), error.begin(), error.end());
  const Bytes multi = frame("GET_REPLY 3 subscriber.by-imsi-1.info-all \nid\t1\nimsi\t1");
  stream.insert(stream.end(), multi.begin(), multi.end());

  for (std::size_t chunk : {std::size_t{1}, std::size_t{3}, stream.size()}) {
    CtrlReader reader;
    std::vector<CtrlReply> got;
    for (std::size_t i = 0; i < stream.size(); i += chunk) {
      reader.feed(ByteView(stream).subspan(i, std::min(chunk, stream.size() - i)));
      for (;;) {
        auto next = reader.next();
        ASSERT_TRUE(next) << next.error().message;
        if (!*next) break;
        got.push_back(std::move(**next));
      }
    }
    ASSERT_EQ(got.size(), 4u) << "chunk " << chunk;
    EXPECT_EQ(got[0].kind, CtrlReply::Kind::SetReply);
    EXPECT_EQ(got[0].id, 1u);
    EXPECT_EQ(got[0].variable, "subscriber.create");
    EXPECT_EQ(got[0].value.view(), "12");
    EXPECT_EQ(got[1].kind, CtrlReply::Kind::Trap);
    EXPECT_EQ(got[2].kind, CtrlReply::Kind::Error);
    EXPECT_EQ(got[2].id, 2u);
    EXPECT_EQ(got[2].value.view(), "Subscriber already exists.");
    EXPECT_EQ(got[3].kind, CtrlReply::Kind::GetReply);
    EXPECT_EQ(got[3].value.view(), "\nid\t1\nimsi\t1");
  }
}

TEST(CtrlCodec, AnUnparsableMessageIsAnError) {
  for (std::string_view bad : {"HELLO 1 x", "SET_REPLY x subscriber.create 1", "ERROR", "GET_REPLY 99999999999 x y"}) {
    CtrlReader reader;
    reader.feed(frame(bad));
    EXPECT_FALSE(reader.next()) << bad;
  }
}

TEST(CtrlCodec, ReplyTextIsWipedWhenDropped) {
  // A moved-from CtrlText is empty: the text exists once.
  CtrlText a("milenage,00112233445566778899aabbccddeeff,opc,ffeeddccbbaa99887766554433221100");
  CtrlText b(std::move(a));
  EXPECT_TRUE(a.view().empty());  // NOLINT(bugprone-use-after-move): checking the move's wipe
  EXPECT_EQ(b.view().substr(0, 9), "milenage,");
}

}  // namespace
}  // namespace cardperso::ads::hlr
