// T=0 completion logic (GET RESPONSE, 6Cxx) against a scripted transmit function: this is the pure
// logic, so a scripted card is the right tool here; the real path is covered by tests/integration.
#include <gtest/gtest.h>

#include <deque>

#include "cardperso/card/t0_exchange.hpp"

using namespace cardperso;
using namespace cardperso::card;

namespace {

// Answers commands in order and records what was sent.
struct ScriptedCard {
  std::deque<Result<Bytes>> answers;
  std::vector<Bytes> sent;

  ScriptedCard() = default;
  explicit ScriptedCard(std::vector<Result<Bytes>> script) : answers(script.begin(), script.end()) {}

  // One exchange_apdu of `command` against the script.
  Result<ApduResponse> exchange(ByteView command) { return exchange_apdu(fn(), command); }

  TransmitFn fn() {
    return [this](ByteView apdu) -> Result<Bytes> {
      sent.emplace_back(apdu.begin(), apdu.end());
      if (answers.empty()) return fail("script exhausted");
      auto a = std::move(answers.front());
      answers.pop_front();
      return a;
    };
  }
};

}  // namespace

TEST(ApduExchange, PlainResponse) {
  ScriptedCard card({hex("0102 9000")});
  auto r = card.exchange(hex("A0B0000002"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->data, hex("0102"));
  EXPECT_EQ(r->sw, 0x9000);
  EXPECT_TRUE(r->ok());
  EXPECT_EQ(card.sent.size(), 1u);
}

TEST(ApduExchange, Gsm9FxxFetchesWithGetResponseUsingTheCommandClass) {
  ScriptedCard card({hex("9F0F"), hex("000000003F00010000000000091300 9000")});
  auto r = card.exchange(hex("A0A4000002 3F00"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(card.sent, (std::vector<Bytes>{hex("A0A4000002 3F00"), hex("A0C000000F")}));
  EXPECT_EQ(r->data, hex("000000003F00010000000000091300"));
  EXPECT_EQ(r->sw, 0x9000);
}

TEST(ApduExchange, Uicc61xxChainsUntilTheLastPart) {
  ScriptedCard card({hex("6102"), hex("AABB 6101"), hex("CC 9000")});
  auto r = card.exchange(hex("00A4000402 3F00"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(card.sent, (std::vector<Bytes>{hex("00A4000402 3F00"), hex("00C0000002"), hex("00C0000001")}));
  EXPECT_EQ(r->data, hex("AABBCC"));
  EXPECT_EQ(r->sw, 0x9000);
}

TEST(ApduExchange, WrongLe6CxxResendsOnceWithTheRightLe) {
  ScriptedCard card({hex("6C0A"), hex("98101132030000002F08 9000")});
  auto r = card.exchange(hex("A0B0000000"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(card.sent, (std::vector<Bytes>{hex("A0B0000000"), hex("A0B000000A")}));
  EXPECT_EQ(r->data.size(), 10u);
}

TEST(ApduExchange, Repeated6CxxIsNotRetriedTwice) {
  ScriptedCard card({hex("6C0A"), hex("6C0B")});
  auto r = card.exchange(hex("A0B0000000"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(card.sent.size(), 2u);
  EXPECT_EQ(r->sw, 0x6C0B);
}

TEST(ApduExchange, SixCxxOnCase4ReplacesTheTrailingLe) {
  ScriptedCard card({hex("6C05"), hex("0102030405 9000")});
  auto r = card.exchange(hex("00CA0000 02 AABB 00"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(card.sent[1], hex("00CA0000 02 AABB 05"));
}

TEST(ApduExchange, ErrorStatusIsReturnedNotFailed) {
  ScriptedCard card({hex("9804")});
  auto r = card.exchange(hex("A020000108 31323334FFFFFFFF"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->sw, 0x9804);
  EXPECT_FALSE(r->ok());
  EXPECT_TRUE(r->data.empty());
}

TEST(ApduExchange, TransmitErrorIsPassedOn) {
  ScriptedCard card({hex("9F0F"), fail("card removed from reader 'X'")});
  auto r = card.exchange(hex("A0A4000002 3F00"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "card removed from reader 'X'");
}

TEST(ApduExchange, ShortResponseIsAnError) {
  ScriptedCard card({hex("90")});
  auto r = card.exchange(hex("A0F2000016"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("fewer than the 2 status bytes"), std::string::npos);
}

TEST(ApduExchange, TooShortCommandIsRefusedWithoutSending) {
  ScriptedCard card;
  auto r = card.exchange(hex("A0A4"));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(card.sent.empty());
}

TEST(ApduExchange, EndlessMoreDataIsBounded) {
  ScriptedCard card;
  for (int i = 0; i < 300; ++i) card.answers.push_back(hex("9F00"));
  auto r = card.exchange(hex("A0A4000002 3F00"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("GET RESPONSE"), std::string::npos);
  EXPECT_LE(card.sent.size(), 258u);
}

TEST(ApduExchange, TotalDataIsBounded) {
  ScriptedCard card;
  card.answers.push_back(hex("6100"));
  Bytes chunk(300, 0x11);  // a faulty card sending more than announced
  chunk.push_back(0x61);
  chunk.push_back(0x00);
  for (int i = 0; i < 300; ++i) card.answers.push_back(chunk);
  auto r = card.exchange(hex("00B0000000"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("more than 65536 bytes"), std::string::npos) << r.error().message;
}
