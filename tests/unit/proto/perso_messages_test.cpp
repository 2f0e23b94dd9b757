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
      CardCheckMsg{RequestKind::NewCard, Bytes(16, 0xA5), "898821100000000001", "Zoë", "passport ending 1234", ""}.encode(),
      CardCheckAnswerMsg{CheckAnswer::Confirmed, Bytes(16, 0x5A)}.encode(),
  };
  auto decode_any = [](std::size_t which, ByteView b) -> bool {
    switch (which) {
      case 0: return CustomerDetailsMsg::decode(b).ok();
      case 1: return DecisionMsg::decode(b).ok();
      case 2: return CardInsertedMsg::decode(b).ok();
      case 3: return DoneMsg::decode(b).ok();
      case 4: return ReceiptMsg::decode(b).ok();
      case 5: return CardCheckMsg::decode(b).ok();
      default: return CardCheckAnswerMsg::decode(b).ok();
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

TEST(PersoMessages, CardCheckCarriesWhatTheTerminalShows) {
  CardCheckMsg k1{RequestKind::Modification, {}, "8988211000000000011", "Ada Lovelace", "", "SPN 'NEW'; PLMN list 001/01"};
  auto k1b = CardCheckMsg::decode(k1.encode());
  ASSERT_TRUE(k1b.ok()) << k1b.error().message;
  EXPECT_EQ(k1b->kind, RequestKind::Modification);
  EXPECT_TRUE(k1b->challenge.empty());
  EXPECT_EQ(k1b->name, k1.name);
  EXPECT_EQ(k1b->changes, k1.changes);
  // Layout: kind | challenge_len | challenge | iccid | name | id | changes (proto/PROTOCOL.md §11.1).
  EXPECT_EQ(CardCheckMsg({RequestKind::NewCard, {}, "898821100000000001", "A", "", ""}).encode(),
            hex("01 00 12 383938383231313030303030303030303031 01 41 00 0000"));
  CardCheckAnswerMsg cancel{CheckAnswer::Cancelled, {}};
  EXPECT_EQ(cancel.encode(), hex("0100"));
  EXPECT_EQ(CardCheckAnswerMsg::decode(hex("0100"))->answer, CheckAnswer::Cancelled);
}

TEST(PersoMessages, CardCheckRefusesWhatADisplayMustNotGet) {
  const Bytes good = CardCheckMsg{RequestKind::NewCard, {}, "898821100000000001", "Ab", "", ""}.encode();
  ASSERT_TRUE(CardCheckMsg::decode(good).ok());
  auto with_name = [&](Bytes name) {
    Bytes b(good.begin(), good.begin() + 21);  // kind, challenge_len, iccid_len, iccid
    b.push_back(static_cast<std::uint8_t>(name.size()));
    b.insert(b.end(), name.begin(), name.end());
    b.insert(b.end(), {0x00, 0x00, 0x00});
    return CardCheckMsg::decode(b);
  };
  EXPECT_TRUE(with_name(Bytes{'A', 'b'}).ok());
  EXPECT_TRUE(with_name(hex("c3ab")).ok());        // ë
  EXPECT_FALSE(with_name(hex("1b5b324a")).ok());   // ESC [2J: clears a console
  EXPECT_FALSE(with_name(hex("c2 9b")).ok());      // C1 CSI
  EXPECT_FALSE(with_name(hex("c0 af")).ok());      // overlong '/'
  EXPECT_FALSE(with_name(hex("ed a0 80")).ok());   // a surrogate
  EXPECT_FALSE(with_name(hex("e2 82")).ok());      // cut sequence
  EXPECT_FALSE(with_name(Bytes(129, 'a')).ok());   // over 128
  EXPECT_FALSE(CardCheckMsg::decode(hex("01 08 0102030405060708")).ok());  // challenge of 8
  EXPECT_FALSE(CardCheckAnswerMsg::decode(hex("03 00")).ok());             // answer 3
  EXPECT_FALSE(CardCheckAnswerMsg::decode(hex("01 10 00000000000000000000000000000000")).ok());  // proof with cancel
  EXPECT_THROW(CardCheckMsg({RequestKind::NewCard, Bytes(3), "898821100000000001", "", "", ""}).encode(),
               std::invalid_argument);
  EXPECT_THROW(CardCheckMsg({RequestKind::NewCard, {}, "898821100000000001", "\x1b[2J", "", ""}).encode(),
               std::invalid_argument);
}

