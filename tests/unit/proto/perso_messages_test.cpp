#include <gtest/gtest.h>

#include "cardperso/proto/perso_messages.hpp"

using namespace cardperso;
using namespace cardperso::proto;

TEST(PersoMessages, RoundTripEveryBody) {
  CustomerDetailsMsg c1{RequestKind::NewCard, R"({"name":"Ada"})"};
  auto c1b = CustomerDetailsMsg::decode(c1.encode());
  ASSERT_TRUE(c1b.ok()) << c1b.error().message;
  EXPECT_EQ(c1b->json, c1.json);
  EXPECT_EQ(c1b->kind, RequestKind::NewCard);

  DecisionMsg c2{false, RequestKind::Modification, 0x0102030405060708ull, "under 18; on deny list"};
  auto c2b = DecisionMsg::decode(c2.encode());
  ASSERT_TRUE(c2b.ok()) << c2b.error().message;
  EXPECT_FALSE(c2b->go);
  EXPECT_EQ(c2b->decision_id, c2.decision_id);
  EXPECT_EQ(c2b->reasons, c2.reasons);

  CardInsertedMsg p1{"8988211000000000011", hex("3b981100435053494d303031")};
  auto p1b = CardInsertedMsg::decode(p1.encode());
  ASSERT_TRUE(p1b.ok()) << p1b.error().message;
  EXPECT_EQ(p1b->iccid, p1.iccid);
  EXPECT_EQ(p1b->atr, p1.atr);

  DoneMsg p4{PersoOutcome::Personalised, "8988211000000000011", "+447700900123", ""};
  auto p4b = DoneMsg::decode(p4.encode());
  ASSERT_TRUE(p4b.ok()) << p4b.error().message;
  EXPECT_EQ(p4b->msisdn, p4.msisdn);
  EXPECT_EQ(p4b->outcome, PersoOutcome::Personalised);

  ReceiptMsg r{R"({"msisdn":"+447700900123"})"};
  auto rb = ReceiptMsg::decode(r.encode());
  ASSERT_TRUE(rb.ok());
  EXPECT_EQ(rb->json, r.json);
}

TEST(PersoMessages, RejectsEveryTruncationAndTrailingBytes) {
  std::vector<Bytes> bodies = {
      CustomerDetailsMsg{RequestKind::NewCard, "{}"}.encode(),
      DecisionMsg{true, RequestKind::NewCard, 7, "ok"}.encode(),
      CardInsertedMsg{"898821100000000001", hex("3b00")}.encode(),
      DoneMsg{PersoOutcome::Failed, "898821100000000001", "", "step 3"}.encode(),
      ReceiptMsg{"{}"}.encode(),
  };
  auto decode_any = [](std::size_t which, ByteView b) -> bool {
    switch (which) {
      case 0: return CustomerDetailsMsg::decode(b).ok();
      case 1: return DecisionMsg::decode(b).ok();
      case 2: return CardInsertedMsg::decode(b).ok();
      case 3: return DoneMsg::decode(b).ok();
      default: return ReceiptMsg::decode(b).ok();
    }
  };
  for (std::size_t i = 0; i < bodies.size(); ++i) {
    EXPECT_TRUE(decode_any(i, bodies[i])) << i;
    for (std::size_t n = 0; n < bodies[i].size(); ++n)
      EXPECT_FALSE(decode_any(i, ByteView(bodies[i]).first(n))) << "message " << i << " cut at " << n;
    Bytes longer = bodies[i];
    longer.push_back(0);
    EXPECT_FALSE(decode_any(i, longer)) << "message " << i << " with a trailing byte";
  }
}

TEST(PersoMessages, RejectsBadFields) {
  EXPECT_FALSE(CustomerDetailsMsg::decode(hex("03000130")).ok());          // kind 3
  EXPECT_FALSE(CustomerDetailsMsg::decode(hex("01000100")).ok());          // NUL in json
  EXPECT_FALSE(DecisionMsg::decode(hex("0201000000000000000000 00")).ok());  // go = 2
  EXPECT_FALSE(CardInsertedMsg::decode(hex("03313233 00")).ok());          // iccid too short
  Bytes letters = CardInsertedMsg{"898821100000000001", {}}.encode();
  letters[3] = 'x';
  EXPECT_FALSE(CardInsertedMsg::decode(letters).ok());
  EXPECT_FALSE(DoneMsg::decode(hex("04 00 00 0000")).ok());                // outcome 4
  EXPECT_THROW(CardInsertedMsg({"12", {}}).encode(), std::invalid_argument);
  EXPECT_THROW(DoneMsg({PersoOutcome::Failed, "", "12a", ""}).encode(), std::invalid_argument);
}
