#include <gtest/gtest.h>

#include "cardperso/proto/link.hpp"
#include "cardperso/proto/messages.hpp"

using namespace cardperso;
using namespace cardperso::proto;

namespace {
Block16 fill(std::uint8_t v) {
  Block16 b{};
  b.fill(v);
  return b;
}
// Every strict decoder must refuse one byte more and one byte less than a valid payload.
template <class M>
void expect_exact_length(const Bytes& good) {
  ASSERT_TRUE(M::decode(good)) << M::decode(good).error().message;
  auto longer = good;
  longer.push_back(0);
  EXPECT_FALSE(M::decode(longer)) << "trailing byte accepted";
  if (!good.empty()) {
    EXPECT_FALSE(M::decode(ByteView(good).first(good.size() - 1))) << "short payload accepted";
  }
  EXPECT_FALSE(M::decode(Bytes{}) && !good.empty());
}
}  // namespace

TEST(Messages, TypeCodesAndChannels) {
  EXPECT_EQ(to_message_type(0x11), MessageType::H1);
  EXPECT_EQ(to_message_type(0x7f), MessageType::Error);
  EXPECT_FALSE(to_message_type(0x00));
  EXPECT_FALSE(to_message_type(0x15));
  EXPECT_EQ(to_message_type(0x2a), MessageType::CardCheck);
  EXPECT_EQ(to_message_type(0x2b), MessageType::CardCheckAnswer);
  EXPECT_FALSE(to_message_type(0x2c));
  EXPECT_TRUE(allowed_on(MessageType::CardCheck, Channel::SteAds));
  EXPECT_FALSE(allowed_on(MessageType::CardCheck, Channel::DtdAds));  // the shop PC never sees or sends it
  EXPECT_FALSE(allowed_on(MessageType::CardCheckAnswer, Channel::DtdAds));
  EXPECT_TRUE(is_sealed_type(MessageType::CardCheckAnswer));
  EXPECT_TRUE(is_sealed_type(MessageType::Echo));
  EXPECT_FALSE(is_sealed_type(MessageType::H3));
  EXPECT_TRUE(allowed_on(MessageType::H1, Channel::SteAds));
  EXPECT_FALSE(allowed_on(MessageType::H1, Channel::DtdAds));
  EXPECT_FALSE(allowed_on(MessageType::Script, Channel::DtdAds));
  EXPECT_TRUE(allowed_on(MessageType::CustomerDetails, Channel::DtdAds));
  EXPECT_FALSE(allowed_on(MessageType::CustomerDetails, Channel::SteAds));
  EXPECT_TRUE(allowed_on(MessageType::Error, Channel::LinkControl));
  EXPECT_FALSE(allowed_on(MessageType::Echo, Channel::LinkControl));
}

TEST(Messages, LinkHello) {
  LinkHello h{1, 3, "dtd-shop-17"};
  auto bytes = h.encode();
  EXPECT_EQ(to_hex(bytes), "01030b" + to_hex(view(std::string("dtd-shop-17"))));
  auto back = LinkHello::decode(bytes);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->node_id, "dtd-shop-17");
  EXPECT_EQ(back->max_version, 3);
  expect_exact_length<LinkHello>(bytes);
  EXPECT_FALSE(LinkHello::decode(hex("0101 00")));                // empty id
  EXPECT_FALSE(LinkHello::decode(hex("0201 01 41")));             // min > max
  EXPECT_FALSE(LinkHello::decode(hex("0001 01 41")));             // version 0
  EXPECT_FALSE(LinkHello::decode(hex("0101 02 4107")));           // control character
  Bytes too_long{1, 1, 65};
  too_long.resize(3 + 65, 'a');
  EXPECT_FALSE(LinkHello::decode(too_long));
  EXPECT_THROW((void)LinkHello({1, 1, std::string(65, 'a')}).encode(), std::invalid_argument);
  EXPECT_TRUE(SteHello::decode(SteHello{1, 1, "ste-1"}.encode()));
}

TEST(Messages, LinkHelloAckKeepaliveAndNegotiation) {
  expect_exact_length<LinkHelloAck>(LinkHelloAck{1}.encode());
  EXPECT_FALSE(LinkHelloAck::decode(hex("00")));
  EXPECT_TRUE(Keepalive::decode({}));
  EXPECT_FALSE(Keepalive::decode(hex("00")));
  auto ack = negotiate_version(1, 5);
  ASSERT_TRUE(ack);
  EXPECT_EQ(ack->version, kProtocolVersion);
  EXPECT_FALSE(negotiate_version(3, 5));
  EXPECT_FALSE(negotiate_version(1, 1)) << "version 1 (no forward secrecy) is never negotiated";
  EXPECT_FALSE(negotiate_version(0, 0));
  EXPECT_TRUE(check_hello_ack(LinkHelloAck{2}));
  EXPECT_FALSE(check_hello_ack(LinkHelloAck{1}));
  EXPECT_FALSE(check_hello_ack(LinkHelloAck{3}));
}

TEST(Messages, SessionKeyHandover) {
  SessionKeyHandover l1;
  l1.session = 7;
  l1.transcript_hash.fill(0xab);
  l1.sealed_sk_d.fill(0xcd);
  auto bytes = l1.encode();
  ASSERT_EQ(bytes.size(), 68u);
  EXPECT_EQ(to_hex(ByteView(bytes).first(4)), "00000007");
  auto back = SessionKeyHandover::decode(bytes);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->sealed_sk_d, l1.sealed_sk_d);
  EXPECT_EQ(back->transcript_hash, l1.transcript_hash);
  expect_exact_length<SessionKeyHandover>(bytes);
  bytes[0] = bytes[1] = bytes[2] = bytes[3] = 0;
  EXPECT_FALSE(SessionKeyHandover::decode(bytes));  // session 0
}

TEST(Messages, H1) {
  HandshakeH1 h1;
  h1.key_version = 2;
  h1.serial = "8944001";
  h1.rn2 = fill(2);
  h1.rn4 = fill(4);
  h1.rn6 = fill(6);
  h1.share.fill(0x5e);
  h1.terminal.fill(0x7d);
  auto bytes = h1.encode();
  ASSERT_EQ(bytes.size(), 3u + 7 + 112);
  // The device key is the last field; the X25519 share comes before it.
  EXPECT_EQ(to_hex(ByteView(bytes).last(32)), to_hex(h1.terminal));
  EXPECT_EQ(to_hex(ByteView(bytes).last(64).first(32)), to_hex(h1.share));
  EXPECT_EQ(to_hex(ByteView(bytes).first(3)), "020207");
  auto back = HandshakeH1::decode(bytes);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->serial, "8944001");
  EXPECT_EQ(back->rn4, fill(4));
  EXPECT_EQ(back->rn6, fill(6));
  EXPECT_EQ(back->share, h1.share);
  EXPECT_EQ(back->terminal, h1.terminal);
  expect_exact_length<HandshakeH1>(bytes);
  auto bad = bytes;
  bad[4] = 'x';
  EXPECT_FALSE(HandshakeH1::decode(bad));  // non-digit serial
  bad = bytes;
  bad[0] = 0;
  EXPECT_FALSE(HandshakeH1::decode(bad));  // version 0
  bad = bytes;
  bad[2] = 0;
  EXPECT_FALSE(HandshakeH1::decode(bad));  // empty serial
  bad = bytes;
  bad[2] = 21;
  EXPECT_FALSE(HandshakeH1::decode(bad));  // serial over 20
  EXPECT_FALSE(HandshakeH1::decode(hex("0102")));
  h1.serial = std::string(21, '1');
  EXPECT_THROW((void)h1.encode(), std::invalid_argument);
}

TEST(Messages, H2H3H4) {
  HandshakeH2 h2{9, fill(1), fill(3), fill(5), {}};
  h2.share.fill(0xa7);
  auto b2 = h2.encode();
  ASSERT_EQ(b2.size(), 84u);
  EXPECT_EQ(to_hex(ByteView(b2).first(4)), "00000009");
  auto back2 = HandshakeH2::decode(b2);
  ASSERT_TRUE(back2);
  EXPECT_EQ(back2->session, 9u);
  EXPECT_EQ(back2->rn5, fill(5));
  EXPECT_EQ(back2->share, h2.share);
  expect_exact_length<HandshakeH2>(b2);
  b2[3] = 0;
  EXPECT_FALSE(HandshakeH2::decode(b2));  // session 0

  HandshakeH3 h3{fill(0xa), fill(0xb), fill(0xc), {}};
  h3.terminal_signature.fill(0x51);
  auto b3 = h3.encode();
  ASSERT_EQ(b3.size(), 112u);
  EXPECT_EQ(HandshakeH3::decode(b3)->confirm_d, fill(0xc));
  EXPECT_EQ(HandshakeH3::decode(b3)->terminal_signature, h3.terminal_signature);
  EXPECT_EQ(to_hex(ByteView(b3).subspan(48, 1)), "51");
  expect_exact_length<HandshakeH3>(b3);

  HandshakeH4 h4{fill(0xd), fill(0xe), fill(0xf)};
  auto b4 = h4.encode();
  EXPECT_EQ(HandshakeH4::decode(b4)->issuer_cryptogram, fill(0xd));
  expect_exact_length<HandshakeH4>(b4);
}

TEST(Messages, Error) {
  auto e = ErrorMessage::make(ErrorCode::RetailerLocked, "card locked");
  auto bytes = e.encode();
  EXPECT_EQ(to_hex(ByteView(bytes).first(4)), "0005000b");
  auto back = ErrorMessage::decode(bytes);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->code, ErrorCode::RetailerLocked);
  EXPECT_EQ(back->text, "card locked");
  expect_exact_length<ErrorMessage>(bytes);
  EXPECT_TRUE(ErrorMessage::decode(hex("00010000")));       // empty text is fine
  EXPECT_FALSE(ErrorMessage::decode(hex("00000000")));      // code 0
  EXPECT_FALSE(ErrorMessage::decode(hex("0001 0001 0a")));  // control character
  Bytes long_text = hex("0001 0101");
  long_text.resize(4 + 257, 'a');
  EXPECT_FALSE(ErrorMessage::decode(long_text));
  auto made = ErrorMessage::make(ErrorCode::Internal, std::string(300, 'x') + "\n");
  EXPECT_EQ(made.text.size(), kMaxErrorText);
  EXPECT_TRUE(ErrorMessage::decode(made.encode()));
  EXPECT_EQ(ErrorMessage::make(ErrorCode::Internal, "a\nb").text, "a?b");
}

TEST(Messages, TerminateBody) {
  EXPECT_EQ(to_hex(TerminateBody{ErrorCode::Timeout}.encode()), "000b");
  expect_exact_length<TerminateBody>(TerminateBody{}.encode());
}

TEST(Messages, MakeFrameSetsTypeAndLength) {
  auto f = make_frame(Channel::SteAds, 5, HandshakeH3{});
  EXPECT_EQ(f.header.type, 0x13);
  EXPECT_EQ(f.header.length, 112u);
  EXPECT_EQ(f.header.session, 5u);
  EXPECT_EQ(f.header.flags, 0);
}
