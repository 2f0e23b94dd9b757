// The STE's per-card flow against in-memory blank SIMs: C2 go -> card swap -> P1 -> P2 (built by
// the ADS's script builder) -> keypad -> P3 -> P4, plus the refusals and failures on the way.
#include <gtest/gtest.h>

#include <deque>

#include "cardperso/card/card_key.hpp"
#include "cardperso/cardsim/card_builders.hpp"
#include "cardperso/cardsim/sim_card.hpp"
#include "cardperso/common/milenage.hpp"
#include "cardperso/perso/card_profile.hpp"
#include "cardperso/perso/script_builder.hpp"
#include "cardperso/ste/perso_flow.hpp"
#include "cardperso/ste/status_reporter.hpp"
#include "cardperso/testing/card_response.hpp"
#include "cardperso/testing/perso_test_set.hpp"

using namespace cardperso;
using namespace cardperso::ste;
using proto::MessageType;

namespace {

using namespace cardperso::testing::perso_set;

const char* const kIccid2 = "8988211000000000029";
using cardperso::testing::sw_of;

class QueueKeypad : public Keypad {
 public:
  std::deque<std::string> entries;
  std::vector<std::string> prompts;
  Result<SecretBytes> read_digits(std::string_view prompt, std::size_t min_digits, std::size_t max_digits) override {
    prompts.emplace_back(prompt);
    if (entries.empty()) return fail("keypad script ended: no entry left for this prompt");
    auto e = ascii_secret(entries.front());
    entries.pop_front();
    if (auto ok = check_digits(e, min_digits, max_digits); !ok) return ok.error();
    return e;
  }
  Result<bool> confirm(std::string_view prompt) override {
    prompts.emplace_back(prompt);
    if (entries.empty()) return fail("keypad script ended: no OK or CANCEL left");
    const std::string e = entries.front();
    entries.pop_front();
    return parse_confirmation(e);
  }
};

struct CustomerFlow : ::testing::Test {
  perso::CardProfile profile;
  cardsim::SimCard card{cardsim::make_blank_sim(kIccid, hex("0000000000000000"))};
  cardsim::SimCard card2{cardsim::make_blank_sim(kIccid2, hex("0000000000000000"))};
  MemoryCardSlot slot;
  QueueKeypad keypad;
  RecordingDisplay display;
  std::size_t retailer_apdus = 0;
  cardsim::SimCard* next = &card;  // what the customer inserts when the terminal asks

  void SetUp() override {
    auto p = load_default_card_profile();
    ASSERT_TRUE(p) << p.error().message;
    profile = *p;
    card = cardsim::SimCard(cardsim::make_stock_sim(kIccid, hex(kBatchSecret)));
    card2 = cardsim::SimCard(cardsim::make_stock_sim(kIccid2, hex(kBatchSecret)));
    // The retailer card is in the reader when the session starts; nothing may be sent to it.
    slot.insert([this](ByteView) -> Result<Bytes> { ++retailer_apdus; return Bytes{0x6D, 0x00}; }, hex("3b00"));
    slot.on_wait_absent = [this] { slot.remove(); };
    slot.on_wait_present = [this] {
      if (slot.present() || next == nullptr) return;
      cardsim::SimCard* c = next;
      slot.insert([c](ByteView apdu) -> Result<Bytes> { return c->transmit(apdu); }, c->atr(), [c] { c->power_on(); });
    };
  }

  CustomerCardFlow flow(PersoFlowOptions o = {}) { return CustomerCardFlow(slot, keypad, display, o); }

  static Bytes decision(bool go, std::string reasons = {}, proto::RequestKind kind = proto::RequestKind::NewCard) {
    proto::DecisionMsg d;
    d.go = go;
    d.kind = kind;
    d.decision_id = 42;
    d.reasons = std::move(reasons);
    return d.encode();
  }
  static Bytes done(proto::PersoOutcome outcome, std::string iccid, std::string msisdn, std::string reason = {}) {
    proto::DoneMsg d;
    d.outcome = outcome;
    d.iccid = std::move(iccid);
    d.msisdn = std::move(msisdn);
    d.reason = std::move(reason);
    return d.encode();
  }

  // The shared test card's values, with two PLMNs instead of three.
  perso::PersoValues values(std::string iccid) const {
    SecretBytes opening = blank_master_code(iccid);
    perso::PersoValues v = card_values(std::move(iccid), std::move(opening));
    v.plmns = std::vector<perso::Plmn>{{"001", "01"}, {"295", "10"}};
    return v;
  }
  SecretBytes script_for(std::string iccid) const {
    auto s = perso::build_personalisation_script(profile, values(std::move(iccid)));
    EXPECT_TRUE(s) << s.error().message;
    auto e = perso::encode_script(*s);
    EXPECT_TRUE(e) << e.error().message;
    return std::move(*e);
  }
  std::size_t script_steps(std::string iccid) const {
    return perso::build_personalisation_script(profile, values(std::move(iccid)))->steps.size();
  }

  bool shown(std::string_view line) const {
    return std::find(display.lines.begin(), display.lines.end(), line) != display.lines.end();
  }

  static Bytes challenge() { return hex("00112233445566778899aabbccddeeff"); }
  static Bytes check(const std::string& iccid, Bytes challenge_bytes = challenge(),
                     proto::RequestKind kind = proto::RequestKind::NewCard) {
    proto::CardCheckMsg k1;
    k1.kind = kind;
    k1.challenge = std::move(challenge_bytes);
    k1.iccid = iccid;
    k1.name = "Zoë Ångström";
    k1.id = "passport ending 4567";
    return k1.encode();
  }

  // C2 go -> P1; checks the card swap and the P1 body.
  void insert_only(CustomerCardFlow& f, const char* iccid) {
    auto step = f.on_message(MessageType::Decision, decision(true));
    ASSERT_FALSE(step.end) << step.detail;
    ASSERT_EQ(step.send.size(), 1u);
    EXPECT_EQ(step.send[0].type, MessageType::CardInserted);
    auto p1 = proto::CardInsertedMsg::decode(step.send[0].plaintext.view());
    ASSERT_TRUE(p1) << p1.error().message;
    EXPECT_EQ(p1->iccid, iccid);
    EXPECT_FALSE(p1->atr.empty());
    EXPECT_EQ(f.state(), CustomerCardFlow::State::AwaitCheck);
  }
  // K1 -> K2: the card's proof and the keypad's answer (the next keypad entry).
  proto::CardCheckAnswerMsg answer_check(CustomerCardFlow& f, const Bytes& k1) {
    auto step = f.on_message(MessageType::CardCheck, k1);
    EXPECT_FALSE(step.end) << step.detail;
    EXPECT_EQ(step.send.size(), 1u);
    if (step.send.size() != 1) return {};
    EXPECT_EQ(step.send[0].type, MessageType::CardCheckAnswer);
    auto k2 = proto::CardCheckAnswerMsg::decode(step.send[0].plaintext.view());
    EXPECT_TRUE(k2) << k2.error().message;
    EXPECT_EQ(f.state(), CustomerCardFlow::State::AwaitScript);
    return k2 ? *k2 : proto::CardCheckAnswerMsg{};
  }
  // C2 go -> P1 -> K1 -> K2 with the clerk's OK.
  void insert_card(CustomerCardFlow& f, const char* iccid) {
    insert_only(f, iccid);
    keypad.entries.push_front("ok");
    auto k2 = answer_check(f, check(iccid));
    EXPECT_EQ(k2.answer, proto::CheckAnswer::Confirmed);
    const auto expected = cardperso::card::card_proof(cardsim::derive_card_key(hex(kBatchSecret), iccid).view(), challenge());
    EXPECT_EQ(k2.proof, Bytes(expected.begin(), expected.end()));
  }

  perso::ScriptResult run_script(CustomerCardFlow& f, const SecretBytes& script) {
    auto step = f.on_message(MessageType::Script, script.view());
    EXPECT_FALSE(step.end) << step.detail;
    EXPECT_EQ(step.send.size(), 1u);
    if (step.send.size() != 1) return {};
    EXPECT_EQ(step.send[0].type, MessageType::ScriptResult);
    auto r = perso::decode_script_result(step.send[0].plaintext.view());
    EXPECT_TRUE(r) << r.error().message;
    EXPECT_EQ(f.state(), CustomerCardFlow::State::AwaitDone);
    return r ? *r : perso::ScriptResult{};
  }
};

}  // namespace

TEST_F(CustomerFlow, ReadsTheIccidOfABlankCard) {
  card.power_on();
  const cardperso::card::TransmitFn t = [this](ByteView c) -> Result<Bytes> { return card.transmit(c); };
  auto iccid = read_iccid(t);
  ASSERT_TRUE(iccid) << iccid.error().message;
  EXPECT_EQ(*iccid, kIccid);
  const cardperso::card::TransmitFn silent = [](ByteView) -> Result<Bytes> { return Bytes{0x6E, 0x00}; };
  auto bad = read_iccid(silent);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("6E00"), std::string::npos) << bad.error().message;
}

TEST_F(CustomerFlow, PersonalisesACardAfterTheGo) {
  auto f = flow();
  keypad.entries = {"9876", "9876", "55667788"};
  insert_card(f, kIccid);
  EXPECT_EQ(retailer_apdus, 0u);
  // Before anything is written: what the ADS says it will write, and the clerk's OK.
  EXPECT_EQ(display.lines, (std::vector<std::string>{"Remove retailer card", "Insert customer card",
                                                     "Check: customer Zoë Ångström", "Check: ID passport ending 4567",
                                                     std::string("Check: card ") + kIccid,
                                                     "Press OK to personalise this card, or Cancel"}));

  auto r = run_script(f, script_for(kIccid));
  ASSERT_EQ(r.outcome, perso::ScriptOutcome::Completed) << r.reason;
  EXPECT_EQ(r.status_words.size(), script_steps(kIccid));
  EXPECT_TRUE(perso::check_proof(r, hex(kKi), hex(kOpc), hex(kRand)));
  EXPECT_TRUE(shown("Customer: enter new PIN"));
  EXPECT_TRUE(shown("Customer: enter new PIN again"));
  EXPECT_TRUE(shown("Customer: enter PUK"));
  EXPECT_TRUE(keypad.entries.empty());

  auto step = f.on_message(MessageType::Done, done(proto::PersoOutcome::Personalised, kIccid, "+41791234567"));
  EXPECT_FALSE(step.end);
  EXPECT_TRUE(step.send.empty());
  EXPECT_EQ(display.lines[display.lines.size() - 2], "Card personalised: MSISDN +41791234567");
  EXPECT_EQ(display.lines.back(), "Remove customer card");
  EXPECT_FALSE(slot.present());
  EXPECT_TRUE(f.idle());
  EXPECT_EQ(f.cards_done(), 1u);

  // The customer's PIN opens the card.
  card.power_on();
  EXPECT_EQ(sw_of(card.transmit(hex("A020000108 39383736FFFFFFFF"))), 0x9000);
  // Nothing secret reached the display.
  for (const auto& line : display.lines) {
    EXPECT_EQ(line.find("9876"), std::string::npos) << line;
    EXPECT_EQ(line.find("5566"), std::string::npos) << line;
    EXPECT_EQ(line.find("a1b2"), std::string::npos) << line;
  }
}

TEST_F(CustomerFlow, NoGoTouchesNoCard) {
  auto f = flow();
  auto step = f.on_message(MessageType::Decision, decision(false, "customer under 16; id number on the deny list"));
  EXPECT_FALSE(step.end);
  EXPECT_TRUE(step.send.empty());
  EXPECT_EQ(display.lines, (std::vector<std::string>{"Customer refused: customer under 16; id number on the deny list"}));
  EXPECT_EQ(retailer_apdus, 0u);
  EXPECT_EQ(slot.total_apdus(), 0u);
  EXPECT_TRUE(slot.present());  // the retailer card was not even asked out
  EXPECT_TRUE(f.idle());
}

TEST_F(CustomerFlow, NoApduBeforeTheGo) {
  auto f = flow();
  // A script or a result before any go is a protocol error: the session ends, the card untouched.
  auto step = f.on_message(MessageType::Script, script_for(kIccid).view());
  EXPECT_TRUE(step.end);
  EXPECT_EQ(step.code, proto::ErrorCode::UnexpectedMessage);
  EXPECT_TRUE(step.send.empty());
  EXPECT_EQ(slot.total_apdus(), 0u);
  EXPECT_EQ(retailer_apdus, 0u);
  auto again = flow().on_message(MessageType::Done, done(proto::PersoOutcome::Personalised, kIccid, "+4179"));
  EXPECT_TRUE(again.end);
  EXPECT_EQ(slot.total_apdus(), 0u);
}

TEST_F(CustomerFlow, AsksForThePinsAgainWhenTheyDiffer) {
  auto f = flow();
  keypad.entries = {"1234", "1235", "4321", "4321", "12345678"};
  insert_card(f, kIccid);
  const auto before = slot.total_apdus();
  auto r = run_script(f, script_for(kIccid));
  ASSERT_EQ(r.outcome, perso::ScriptOutcome::Completed) << r.reason;
  EXPECT_GT(slot.total_apdus(), before);
  EXPECT_TRUE(shown("PINs differ: type them again"));
  card.power_on();
  EXPECT_EQ(sw_of(card.transmit(hex("A020000108 34333231FFFFFFFF"))), 0x9000);  // the second pair counts
}

TEST_F(CustomerFlow, ThreeMismatchesAbortTheCardBeforeAnyApdu) {
  auto f = flow();
  keypad.entries = {"1234", "1235", "1234", "1236", "1234", "1237", "12345678"};
  insert_card(f, kIccid);
  const auto before = slot.total_apdus();
  auto r = run_script(f, script_for(kIccid));
  EXPECT_EQ(r.outcome, perso::ScriptOutcome::Refused);
  EXPECT_TRUE(r.status_words.empty());
  EXPECT_NE(r.reason.find("different PINs 3 times"), std::string::npos) << r.reason;
  EXPECT_EQ(r.reason.find("123"), std::string::npos) << r.reason;
  EXPECT_EQ(slot.total_apdus(), before);
  EXPECT_EQ(keypad.entries.size(), 1u);  // the PUK was not asked for
}

TEST_F(CustomerFlow, KeypadRunningOutAbortsTheCard) {
  auto f = flow();
  keypad.entries = {"1234", "1234"};
  insert_card(f, kIccid);
  const auto before = slot.total_apdus();
  auto r = run_script(f, script_for(kIccid));
  EXPECT_EQ(r.outcome, perso::ScriptOutcome::Refused);
  EXPECT_NE(r.reason.find("PUK entry failed"), std::string::npos) << r.reason;
  EXPECT_EQ(slot.total_apdus(), before);
}

TEST_F(CustomerFlow, CardPulledMidScriptIsReportedAtItsStep) {
  auto f = flow();
  keypad.entries = {"1234", "1234", "12345678"};
  insert_card(f, kIccid);
  const std::size_t k = 10;  // script steps sent before the card goes
  slot.remove_at(slot.apdus_sent() + k);
  auto r = run_script(f, script_for(kIccid));
  EXPECT_EQ(r.outcome, perso::ScriptOutcome::TransmitFailed);
  EXPECT_EQ(r.failed_step, k);
  EXPECT_EQ(r.status_words.size(), k);
  EXPECT_NE(r.reason.find("step 11"), std::string::npos) << r.reason;
  EXPECT_NE(r.reason.find("card removed"), std::string::npos) << r.reason;

  auto step = f.on_message(MessageType::Done,
                           done(proto::PersoOutcome::Failed, kIccid, "", "card removed at step 11 (update ...)"));
  EXPECT_FALSE(step.end);
  EXPECT_TRUE(shown("Personalisation failed: card removed at step 11 (update ...)"));
  EXPECT_TRUE(f.idle());
}

TEST_F(CustomerFlow, AnUnexpectedStatusWordStopsTheScriptOnce) {
  // A card opened with another master code: the ADM VERIFY fails and nothing follows it.
  card = cardsim::SimCard(cardsim::make_blank_sim(kIccid, hex("0102030405060708"),
                                                  cardsim::derive_card_key(hex(kBatchSecret), kIccid).view()));
  auto f = flow();
  keypad.entries = {"1234", "1234", "12345678"};
  insert_card(f, kIccid);
  const auto before = slot.total_apdus();
  auto r = run_script(f, script_for(kIccid));
  EXPECT_EQ(r.outcome, perso::ScriptOutcome::UnexpectedStatus);
  EXPECT_EQ(r.failed_step, 0);
  ASSERT_EQ(r.status_words.size(), 1u);
  EXPECT_EQ(slot.total_apdus(), before + 1);  // presented exactly once, never retried
}

TEST_F(CustomerFlow, ABadScriptIsRefusedWithoutAnApdu) {
  auto f = flow();
  insert_card(f, kIccid);
  const auto before = slot.total_apdus();
  auto r = run_script(f, SecretBytes(ByteView(hex("43505343ff"))));
  EXPECT_EQ(r.outcome, perso::ScriptOutcome::Refused);
  EXPECT_NE(r.reason.find("the script is not valid"), std::string::npos) << r.reason;
  EXPECT_EQ(slot.total_apdus(), before);
}

TEST_F(CustomerFlow, TheAdsMayRefuseTheCardAfterP1) {
  auto f = flow();
  insert_only(f, kIccid);
  auto step = f.on_message(MessageType::Done, done(proto::PersoOutcome::Refused, kIccid, "", "unknown card"));
  EXPECT_FALSE(step.end);
  EXPECT_TRUE(shown("Card refused: unknown card"));
  EXPECT_TRUE(f.idle());
}

TEST_F(CustomerFlow, SeveralCardsInOneSession) {
  auto f = flow();
  keypad.entries = {"1234", "1234", "12345678", "5678", "5678", "87654321"};
  insert_card(f, kIccid);
  ASSERT_EQ(run_script(f, script_for(kIccid)).outcome, perso::ScriptOutcome::Completed);
  f.on_message(MessageType::Done, done(proto::PersoOutcome::Personalised, kIccid, "+41791234567"));
  display.lines.clear();
  next = &card2;
  insert_card(f, kIccid2);
  ASSERT_GE(display.lines.size(), 2u);
  EXPECT_EQ(display.lines[0], "Remove customer card");
  EXPECT_EQ(display.lines[1], "Insert customer card");
  ASSERT_EQ(run_script(f, script_for(kIccid2)).outcome, perso::ScriptOutcome::Completed);
  f.on_message(MessageType::Done, done(proto::PersoOutcome::Personalised, kIccid2, "+41791234568"));
  EXPECT_TRUE(shown("Card personalised: MSISDN +41791234568"));
  EXPECT_EQ(f.cards_done(), 2u);
  card2.power_on();
  EXPECT_EQ(sw_of(card2.transmit(hex("A020000108 35363738FFFFFFFF"))), 0x9000);
}

TEST_F(CustomerFlow, AModificationUpdatesAPersonalisedCard) {
  auto f = flow();
  keypad.entries = {"1234", "1234", "12345678", "1234"};
  insert_card(f, kIccid);
  ASSERT_EQ(run_script(f, script_for(kIccid)).outcome, perso::ScriptOutcome::Completed);
  f.on_message(MessageType::Done, done(proto::PersoOutcome::Personalised, kIccid, "+41791234567"));

  perso::PersoValues m;
  m.mode = perso::PersoMode::Modify;
  m.iccid = kIccid;
  m.opening_code = secret_hex("a1b2c3d4e5f60718");  // the issuer code written by the first script
  m.spn = "NEW NAME";
  auto script = perso::build_personalisation_script(profile, m);
  ASSERT_TRUE(script) << script.error().message;
  auto encoded = perso::encode_script(*script);
  ASSERT_TRUE(encoded);

  auto step = f.on_message(MessageType::Decision, decision(true, "", proto::RequestKind::Modification));
  ASSERT_EQ(step.send.size(), 1u);
  keypad.entries.push_front("OK");
  proto::CardCheckMsg k1 = *proto::CardCheckMsg::decode(check(kIccid, challenge(), proto::RequestKind::Modification));
  k1.id.clear();
  k1.changes = "SPN 'NEW NAME'";
  EXPECT_EQ(answer_check(f, k1.encode()).answer, proto::CheckAnswer::Confirmed);
  EXPECT_TRUE(shown("Check: change SPN 'NEW NAME'"));
  EXPECT_TRUE(shown("Press OK to update this card, or Cancel"));
  auto r = run_script(f, *encoded);
  ASSERT_EQ(r.outcome, perso::ScriptOutcome::Completed) << r.reason;
  f.on_message(MessageType::Done, done(proto::PersoOutcome::Modified, kIccid, "+41791234567"));
  EXPECT_TRUE(shown("Card updated"));
  card.power_on();
  ASSERT_EQ(sw_of(card.transmit(hex("A0A40800 04 7F206F46"))) >> 8, 0x9F);
  Bytes spn = card.transmit(hex("A0B0000011"));
  ASSERT_EQ(sw_of(spn), 0x9000);
  EXPECT_EQ(perso::decode_spn(ByteView(spn).first(17))->name, "NEW NAME");
}

TEST_F(CustomerFlow, ACardThatStaysInTheReaderEndsTheSession) {
  slot.on_wait_absent = nullptr;  // the retailer never removes the card
  auto f = flow();
  auto step = f.on_message(MessageType::Decision, decision(true));
  EXPECT_TRUE(step.end);
  EXPECT_EQ(step.refusal, "timeout");
  EXPECT_EQ(step.code, proto::ErrorCode::Timeout);
  EXPECT_EQ(retailer_apdus, 0u);
}

// ---- the check before writing (K1/K2) ----------------------------------------------------------

TEST_F(CustomerFlow, CancelOnTheKeypadSendsNoProofAndWritesNothing) {
  auto f = flow();
  insert_only(f, kIccid);
  const auto before = slot.total_apdus();
  keypad.entries = {"cancel", "1234"};
  auto k2 = answer_check(f, check(kIccid));
  EXPECT_EQ(k2.answer, proto::CheckAnswer::Cancelled);
  EXPECT_TRUE(k2.proof.empty());
  EXPECT_EQ(slot.total_apdus(), before + 2);  // CARD PROOF and its GET RESPONSE only
  EXPECT_TRUE(shown("Cancelled: nothing written"));
  EXPECT_EQ(keypad.entries.size(), 1u);  // no PIN asked for
  auto step = f.on_message(MessageType::Done, done(proto::PersoOutcome::Refused, kIccid, "", "cancelled on the terminal's keypad"));
  EXPECT_FALSE(step.end);
  EXPECT_TRUE(f.idle());
}

TEST_F(CustomerFlow, AKeypadWithoutAnAnswerCancels) {
  auto f = flow();
  insert_only(f, kIccid);
  keypad.entries = {"1234"};  // not OK: refused as an answer, so the card is not written
  EXPECT_EQ(answer_check(f, check(kIccid)).answer, proto::CheckAnswer::Cancelled);
  keypad.entries.clear();
  f.on_message(MessageType::Done, done(proto::PersoOutcome::Refused, kIccid, "", "cancelled"));
  insert_only(f, kIccid);
  EXPECT_EQ(answer_check(f, check(kIccid)).answer, proto::CheckAnswer::Cancelled);  // keypad script ended
}

TEST_F(CustomerFlow, ACardWithoutItsKeyIsReportedSilentAndNothingIsShownOrAsked) {
  card = cardsim::SimCard(cardsim::make_blank_sim(kIccid, blank_master_code(kIccid).view()));  // no card key
  auto f = flow();
  insert_only(f, kIccid);
  keypad.entries = {"ok"};
  auto k2 = answer_check(f, check(kIccid));
  EXPECT_EQ(k2.answer, proto::CheckAnswer::CardSilent);
  EXPECT_TRUE(k2.proof.empty());
  EXPECT_EQ(keypad.entries.size(), 1u);
  for (const auto& line : display.lines) EXPECT_EQ(line.rfind("Check:", 0), std::string::npos) << line;
}

TEST_F(CustomerFlow, ACheckWithoutAChallengeIsConfirmedWithoutAProof) {
  auto f = flow();
  insert_only(f, kIccid);
  const auto before = slot.total_apdus();
  keypad.entries = {" Ok "};
  auto k2 = answer_check(f, check(kIccid, {}));
  EXPECT_EQ(k2.answer, proto::CheckAnswer::Confirmed);
  EXPECT_TRUE(k2.proof.empty());
  EXPECT_EQ(slot.total_apdus(), before);
}

TEST_F(CustomerFlow, ACheckForAnotherCardEndsTheSession) {
  auto f = flow();
  insert_only(f, kIccid);
  keypad.entries = {"ok"};
  auto step = f.on_message(MessageType::CardCheck, check(kIccid2));
  EXPECT_TRUE(step.end);
  EXPECT_EQ(step.code, proto::ErrorCode::UnexpectedMessage);
  EXPECT_TRUE(step.send.empty());
  // And a script straight after P1, without the check, is out of turn.
  auto g = flow();
  insert_only(g, kIccid);
  EXPECT_TRUE(g.on_message(MessageType::Script, script_for(kIccid).view()).end);
}

// ---- what the shop PC's console is told (TerminalStatus) ---------------------------------------

namespace {

// "writing 3/93", "ready": readable in a failure message.
std::vector<std::string> reported(const RecordingStatusReporter& status) {
  std::vector<std::string> out;
  for (const auto& s : status.statuses) {
    std::string line(proto::to_string(s.prompt));
    if (s.prompt == proto::TerminalPrompt::Writing) line += " " + std::to_string(s.step) + "/" + std::to_string(s.steps);
    out.push_back(std::move(line));
  }
  return out;
}

std::vector<std::string> writing(std::size_t last, std::size_t steps) {
  std::vector<std::string> out;
  for (std::size_t k = 1; k <= last; ++k) out.push_back("writing " + std::to_string(k) + "/" + std::to_string(steps));
  return out;
}

std::vector<std::string> operator+(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

}  // namespace

TEST_F(CustomerFlow, ReportsEachPromptOfACardToTheShopPc) {
  RecordingStatusReporter status;
  CustomerCardFlow f(slot, keypad, display, status);
  f.await_customer();  // what the session does once it is up
  EXPECT_EQ(reported(status), (std::vector<std::string>{"ready"}));
  keypad.entries = {"9876", "9876", "55667788"};
  insert_card(f, kIccid);
  auto r = run_script(f, script_for(kIccid));
  ASSERT_EQ(r.outcome, perso::ScriptOutcome::Completed) << r.reason;
  f.on_message(MessageType::Done, done(proto::PersoOutcome::Personalised, kIccid, "+41791234567"));

  const std::size_t n = script_steps(kIccid);
  ASSERT_GT(n, 2u);
  EXPECT_EQ(reported(status),
            (std::vector<std::string>{"ready", "remove_retailer_card", "insert_customer_card", "confirm_on_terminal",
                                      "enter_customer_pin", "enter_customer_pin_again", "enter_customer_puk"} +
             writing(n, n) + std::vector<std::string>{"card_done", "remove_customer_card", "ready"}));
  for (const auto& s : status.statuses) EXPECT_TRUE(s.check()) << proto::to_string(s.prompt);
  // Once the card is out the terminal waits for the next customer: that is when `ready` goes out.
  EXPECT_TRUE(f.idle());
  EXPECT_FALSE(slot.present());
}

TEST_F(CustomerFlow, ReportsRefusalsCancelsAndFailuresToTheShopPc) {
  RecordingStatusReporter status;
  CustomerCardFlow f(slot, keypad, display, status);
  // A no-go: nothing asked of anyone, the terminal waits for the next customer.
  f.on_message(MessageType::Decision, decision(false, "customer under 16"));
  EXPECT_EQ(reported(status), (std::vector<std::string>{"ready"}));

  // The clerk cancels on the keypad; the ADS refuses the card.
  status.statuses.clear();
  insert_only(f, kIccid);
  keypad.entries = {"cancel"};
  EXPECT_EQ(answer_check(f, check(kIccid)).answer, proto::CheckAnswer::Cancelled);
  f.on_message(MessageType::Done, done(proto::PersoOutcome::Refused, kIccid, "", "cancelled on the terminal's keypad"));
  EXPECT_EQ(reported(status),
            (std::vector<std::string>{"remove_retailer_card", "insert_customer_card", "confirm_on_terminal", "cancelled",
                                      "card_refused", "remove_customer_card", "ready"}));

  // PINs that differ once, then the card is pulled at step 11: the card failed.
  status.statuses.clear();
  keypad.entries = {"1234", "1235", "4321", "4321", "12345678"};
  insert_card(f, kIccid);
  slot.remove_at(slot.apdus_sent() + 10);
  auto r = run_script(f, script_for(kIccid));
  ASSERT_EQ(r.outcome, perso::ScriptOutcome::TransmitFailed);
  f.on_message(MessageType::Done, done(proto::PersoOutcome::Failed, kIccid, "", "card removed at step 11"));
  const std::size_t n = script_steps(kIccid);
  EXPECT_EQ(reported(status),
            (std::vector<std::string>{"remove_customer_card", "insert_customer_card", "confirm_on_terminal",
                                      "enter_customer_pin", "enter_customer_pin_again", "pins_differ",
                                      "enter_customer_pin", "enter_customer_pin_again", "enter_customer_puk"} +
             writing(r.failed_step + 1u, n) +
             std::vector<std::string>{"card_failed", "remove_customer_card", "ready"}));
}

TEST_F(CustomerFlow, PinsThatNeverMatchAreReportedWithoutWriting) {
  RecordingStatusReporter status;
  CustomerCardFlow f(slot, keypad, display, status);
  keypad.entries = {"1234", "1235", "1234", "1236", "1234", "1237"};
  insert_card(f, kIccid);
  status.statuses.clear();
  EXPECT_EQ(run_script(f, script_for(kIccid)).outcome, perso::ScriptOutcome::Refused);
  const auto got = reported(status);
  EXPECT_EQ(std::count(got.begin(), got.end(), "pins_differ"), 3);
  EXPECT_EQ(got.back(), "pins_differ");
  EXPECT_EQ(std::count_if(got.begin(), got.end(), [](const std::string& l) { return l.rfind("writing", 0) == 0; }), 0);
}

TEST(Keypad, ConfirmationEntries) {
  EXPECT_TRUE(*parse_confirmation("ok"));
  EXPECT_TRUE(*parse_confirmation(" OK\t"));
  EXPECT_FALSE(*parse_confirmation("Cancel"));
  EXPECT_FALSE(parse_confirmation(""));
  EXPECT_FALSE(parse_confirmation("1234"));
  EXPECT_FALSE(parse_confirmation("okay"));
}

