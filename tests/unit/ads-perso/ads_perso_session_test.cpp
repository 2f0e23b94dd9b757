// PersoSession driven through whole cards: real SqlitePersoServices on a real SQLite file, the
// script carried as bytes (P2), decoded and run by the STE's executor on an in-memory blank virtual
// card, the result carried back as bytes (P3). Each negative path checks that the database is
// consistent afterwards and that no number is lost.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cardperso/ads/perso/perso_services_sqlite.hpp"
#include "cardperso/ads/perso/perso_session.hpp"
#include "cardperso/cardsim/card_builders.hpp"
#include "cardperso/cardsim/sim_card.hpp"
#include "cardperso/common/milenage.hpp"
#include "cardperso/perso/script_executor.hpp"
#include "cardperso/testing/card_response.hpp"
#include "cardperso/testing/perso_test_set.hpp"
#include "stock_fixture.hpp"

namespace cardperso::ads {
namespace {

using proto::Channel;
using proto::MessageType;
using proto::PersoOutcome;
using test::kBatchSecret;
using test::kRetailerA;
using test::kRetailerB;
using test::must;

const char* const kAdult = R"({"name":"Ada Lovelace","date_of_birth":"1990-12-10","id_number":"X1234567"})";
const char* const kMinor = R"({"name":"Young Person","date_of_birth":"2010-01-01"})";

using testing::data_of;
using testing::sw_of;
using testing::perso_set::ascii_secret;

// What one call produced, sorted by destination; assessments are run at once with the real policy.
struct Out {
  std::vector<SealMessage> to_ste, to_dtd;
  std::optional<EndSession> end;
  std::vector<std::string> logs;
  bool has_log(const std::string& part) const {
    for (const auto& l : logs)
      if (l.find(part) != std::string::npos) return true;
    return false;
  }
  const SealMessage* find(const std::vector<SealMessage>& v, MessageType t) const {
    for (const auto& m : v)
      if (m.type == t) return &m;
    return nullptr;
  }
  proto::DoneMsg done_to_ste() const {
    auto* m = find(to_ste, MessageType::Done);
    if (!m) throw std::runtime_error("no P4 to the STE");
    auto d = proto::DoneMsg::decode(m->plaintext.view());
    if (!d) throw std::runtime_error(d.error().message);
    return *d;
  }
  proto::DoneMsg done_to_dtd() const {
    auto* m = find(to_dtd, MessageType::Done);
    if (!m) throw std::runtime_error("no P4 to the DTD");
    return must(proto::DoneMsg::decode(m->plaintext.view()));
  }
  proto::DecisionMsg decision() const {
    auto* m = find(to_dtd, MessageType::Decision);
    if (!m) throw std::runtime_error("no C2 to the DTD");
    return must(proto::DecisionMsg::decode(m->plaintext.view()));
  }
};

// A customer card in the STE's reader: a blank virtual SIM, possibly pulled before some APDU.
struct Card {
  std::string iccid;
  cardsim::SimCard sim;
  std::optional<std::size_t> pull_at;
  std::size_t sent = 0;
  // A card of a batch with this secret: master code and card key derived from it (cardperso-mkcards).
  Card(std::string id, ByteView batch_secret) : iccid(std::move(id)), sim(cardsim::make_stock_sim(iccid, batch_secret)) {
    sim.power_on();
  }
  Card(std::string id, cardsim::CardImage image) : iccid(std::move(id)), sim(std::move(image)) { sim.power_on(); }
  // The STE's check of the card (K1 -> K2), on the card's contacts but not counted in `sent`.
  perso::TransmitFn check_transmit() {
    return [this](ByteView apdu) -> Result<Bytes> { return sim.transmit(apdu); };
  }
  perso::TransmitFn transmit() {
    return [this](ByteView apdu) -> Result<Bytes> {
      if (pull_at && sent == *pull_at) return fail("card removed from the reader");
      ++sent;
      return sim.transmit(apdu);
    };
  }
  Bytes tx(std::string_view h) { return sim.transmit(hex(h)); }
  void reset() {
    sim.power_off();
    sim.power_on();
    pull_at.reset();
    sent = 0;
  }
};

class PersoSessionTest : public test::StockTest {
 protected:
  void SetUp() override {
    StockTest::SetUp();
    iccids = secret_batch_for_a(4);
    must(stock->import_secret_batch("B2", kBatchSecret, "8988212", 1, 1));
    must(stock->assign_batch("B2", kRetailerB));
    other_retailers_card = must(batch_iccid("8988212", 1));
    add_pools();
    PersoConfig config;
    config.profile = must(perso::load_card_profile(std::string(CARDPERSO_PROFILES_DIR) + "/gsm-sim-default.json"));
    config.spn = "cardperso";
    config.plmns = {{"001", "01"}, {"295", "10"}};
    services.emplace(*db, key, config, policy::default_policy(), "ads-test", [this] { return now; });
    session.emplace(*services, PersoSessionInfo{kRetailerA, 7});
  }

  Card blank_card(const std::string& iccid, ByteView batch_secret = kBatchSecret) { return Card(iccid, batch_secret); }

  Out collect(PersoActions actions) {
    Out out;
    std::vector<PersoAction> todo(std::make_move_iterator(actions.begin()), std::make_move_iterator(actions.end()));
    for (std::size_t i = 0; i < todo.size(); ++i) {
      if (auto* m = std::get_if<SealMessage>(&todo[i])) {
        // Every message is one the real core can seal on that channel.
        EXPECT_TRUE(proto::allowed_on(m->type, m->channel)) << proto::name(m->type);
        (m->channel == Channel::SteAds ? out.to_ste : out.to_dtd).push_back(std::move(*m));
      } else if (auto* a = std::get_if<AssessCustomer>(&todo[i])) {
        EXPECT_FALSE(services->assess_may_block());
        for (auto& more : session->on_assessment(services->assess(a->details))) todo.push_back(std::move(more));
      } else if (auto* e = std::get_if<EndSession>(&todo[i])) {
        out.end = *e;
      } else if (auto* l = std::get_if<LogLine>(&todo[i])) {
        out.logs.push_back(l->text);
      }
    }
    return out;
  }

  Out customer(const std::string& json = kAdult) {
    proto::CustomerDetailsMsg c1{proto::RequestKind::NewCard, json};
    return collect(session->on_message(Channel::DtdAds, MessageType::CustomerDetails, c1.encode()));
  }
  Out modification(const std::string& json) {
    proto::CustomerDetailsMsg c1{proto::RequestKind::Modification, json};
    return collect(session->on_message(Channel::DtdAds, MessageType::CustomerDetails, c1.encode()));
  }
  // P1 only: K1 (the terminal's check), or a refusal.
  Out insert_only(Card& card) {
    proto::CardInsertedMsg p1{card.iccid, card.sim.atr()};
    return collect(session->on_message(Channel::SteAds, MessageType::CardInserted, p1.encode()));
  }
  // The STE's K2 to a K1: the card's proof, the clerk's OK (or cancel).
  Out answer_check(const Out& k1, Card& card, bool confirm = true) {
    const auto* check = k1.find(k1.to_ste, MessageType::CardCheck);
    if (!check) throw std::runtime_error("no K1 to the STE");
    last_check = must(proto::CardCheckMsg::decode(check->plaintext.view()));
    auto k2 = must(testing::perso_set::card_check_answer(check->plaintext.view(), card.check_transmit(), confirm));
    return collect(session->on_message(Channel::SteAds, MessageType::CardCheckAnswer, k2));
  }
  // P1, and when the ADS asks for the check, the clerk's OK: P2 or a refusal.
  Out insert(Card& card) {
    auto k1 = insert_only(card);
    if (!k1.find(k1.to_ste, MessageType::CardCheck)) return k1;
    EXPECT_TRUE(k1.to_dtd.empty());  // the DTD never sees the check
    return answer_check(k1, card);
  }
  // The STE: decode P2, ask the keypad, run it on the card, send P3 (optionally tampered with).
  Out run_script(const Out& p2, Card& card, const std::function<void(perso::ScriptResult&)>& tamper = {}) {
    const auto* script_msg = p2.find(p2.to_ste, MessageType::Script);
    if (!script_msg) throw std::runtime_error("no P2 to the STE");
    auto script = must(perso::decode_script(script_msg->plaintext.view()));
    last_result = perso::execute_script(script, {ascii_secret("1234"), ascii_secret("1234"), ascii_secret("12345678")}, card.transmit());
    if (tamper) tamper(last_result);
    return collect(session->on_message(Channel::SteAds, MessageType::ScriptResult, perso::encode_script_result(last_result)));
  }
  Out personalise(Card& card) {
    auto c2 = customer();
    EXPECT_TRUE(c2.decision().go);
    auto p2 = insert(card);
    return run_script(p2, card);
  }

  std::int64_t count(const std::string& sql) { return test::raw_int(db_path, sql); }
  std::int64_t numbers_in(const std::string& state) {
    return count("SELECT count(*) FROM number_allocations WHERE state = '" + state + "'");
  }
  // Every number handed out is reserved for a card in progress or failed (its retry gets it back),
  // committed to a personalised card, retired with a spoiled card, or released.
  void expect_no_number_lost() {
    EXPECT_EQ(count("SELECT count(*) FROM number_allocations a JOIN cards c ON c.iccid = a.iccid "
                    "WHERE a.state = 'reserved' AND c.state NOT IN ('in_progress', 'failed')"),
              0);
    EXPECT_EQ(count("SELECT count(*) FROM number_allocations a JOIN cards c ON c.iccid = a.iccid "
                    "WHERE a.state = 'retired' AND c.state <> 'spoiled'"),
              0);
    EXPECT_EQ(count("SELECT count(*) FROM number_allocations a JOIN cards c ON c.iccid = a.iccid "
                    "WHERE a.state = 'committed' AND c.state <> 'personalised'"),
              0);
    EXPECT_EQ(count("SELECT count(*) FROM cards WHERE state = 'in_progress'"), 0);
    EXPECT_TRUE(must(audit->verify()).intact());
  }
  Bytes read_binary(Card& card, std::string_view path_hex, std::size_t len) {
    EXPECT_EQ(sw_of(card.tx("A0A40800" + std::string(path_hex))) >> 8, 0x9F);
    Bytes len_byte{static_cast<std::uint8_t>(len)};
    Bytes r = card.tx("A0B00000" + to_hex(len_byte));
    EXPECT_EQ(sw_of(r), 0x9000) << path_hex;
    return data_of(r);
  }

  std::vector<std::string> iccids;
  std::string other_retailers_card;
  std::optional<SqlitePersoServices> services;
  std::optional<PersoSession> session;
  perso::ScriptResult last_result;
  proto::CardCheckMsg last_check;
};

TEST_F(PersoSessionTest, PersonalisesACardRecordsItAndSendsTheReceipt) {
  auto c2 = customer();
  const auto decision = c2.decision();
  EXPECT_TRUE(decision.go);
  EXPECT_GT(decision.decision_id, 0u);
  ASSERT_NE(c2.find(c2.to_ste, MessageType::Decision), nullptr);  // the STE may now ask for the card
  EXPECT_EQ(must(proto::DecisionMsg::decode(c2.find(c2.to_ste, MessageType::Decision)->plaintext.view())).decision_id,
            decision.decision_id);
  EXPECT_TRUE(must(records->decision(static_cast<std::int64_t>(decision.decision_id)))->go);
  EXPECT_EQ(session->state(), PersoSession::State::AwaitCard);

  Card card = blank_card(iccids[0]);
  auto p2 = insert(card);
  ASSERT_EQ(p2.to_ste.size(), 1u);
  EXPECT_EQ(p2.to_ste[0].type, MessageType::Script);
  EXPECT_TRUE(p2.to_dtd.empty());  // the DTD never sees the script
  EXPECT_EQ(state_of(iccids[0]), CardState::InProgress);
  EXPECT_EQ(numbers_in("reserved"), 2);

  auto p4 = run_script(p2, card);
  ASSERT_EQ(last_result.outcome, perso::ScriptOutcome::Completed) << last_result.reason;
  const auto done = p4.done_to_ste();
  EXPECT_EQ(done.outcome, PersoOutcome::Personalised);
  EXPECT_EQ(done.iccid, iccids[0]);
  EXPECT_EQ(done.msisdn, "44770090001");
  EXPECT_EQ(p4.done_to_dtd().msisdn, "44770090001");
  EXPECT_TRUE(p4.has_log("card " + iccids[0] + " personalised: msisdn 44770090001"));
  EXPECT_EQ(session->state(), PersoSession::State::AwaitCustomer);

  // The record: version 1, numbers committed, the card personalised, the subscriber sealed.
  EXPECT_EQ(state_of(iccids[0]), CardState::Personalised);
  auto history = must(records->history(iccids[0]));
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0].version, 1);
  EXPECT_EQ(history[0].imsi, "001010000000001");
  EXPECT_EQ(history[0].msisdn, "44770090001");
  EXPECT_EQ(history[0].spn, "cardperso");
  EXPECT_EQ(history[0].plmnsel, "00f11092f501ffffffffffffffffffffffffffffffffffff");
  EXPECT_EQ(history[0].profile, "gsm-sim-default");
  EXPECT_EQ(history[0].session_id.value_or(0), 7);
  EXPECT_EQ(history[0].decision_id.value_or(0), static_cast<std::int64_t>(decision.decision_id));
  EXPECT_EQ(numbers_in("committed"), 2);
  EXPECT_NE(must(records->personal_data(history[0].subscriber_id)).find("Ada Lovelace"), std::string::npos);
  const auto files = nlohmann::json::parse(history[0].files_json);
  bool ki_ref = false, imsi_value = false;
  for (const auto& f : files) {
    if (f["path"] == "3F00/7F20/FF02") ki_ref = f["secret"] == "ki" && !f.contains("value");
    if (f["path"] == "3F00/7F20/6F07") imsi_value = f["value"] == "080910100000000010";
  }
  EXPECT_TRUE(ki_ref);
  EXPECT_TRUE(imsi_value);

  // The receipt: exactly the documented fields, no secret.
  const auto* receipt_msg = p4.find(p4.to_dtd, MessageType::Receipt);
  ASSERT_NE(receipt_msg, nullptr);
  EXPECT_EQ(p4.find(p4.to_ste, MessageType::Receipt), nullptr);
  auto receipt = must(proto::ReceiptMsg::decode(receipt_msg->plaintext.view()));
  auto doc = nlohmann::json::parse(receipt.json);
  EXPECT_EQ(doc.size(), 8u);
  EXPECT_EQ(doc["receipt_id"], iccids[0] + "-1");
  EXPECT_EQ(doc["time"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(doc["retailer"], kRetailerA);
  EXPECT_EQ(doc["iccid"], iccids[0]);
  EXPECT_EQ(doc["msisdn"], "44770090001");
  EXPECT_EQ(doc["customer_name"], "Ada Lovelace");
  EXPECT_EQ(doc["outcome"], "personalised");
  EXPECT_EQ(doc["record_version"], 1);
  auto keys = must(records->keys_of(iccids[0], 1));
  EXPECT_EQ(receipt.json.find(to_hex(keys.ki.view())), std::string::npos);
  EXPECT_EQ(receipt.json.find("1234"), std::string::npos);

  // The card holds what the record says, and answers RUN GSM ALGORITHM with the recorded keys.
  card.reset();
  EXPECT_EQ(sw_of(card.tx("A020000108 31323334FFFFFFFF")), 0x9000);
  EXPECT_EQ(*perso::decode_imsi(read_binary(card, "047F206F07", 9)), history[0].imsi);
  EXPECT_EQ(perso::decode_spn(read_binary(card, "047F206F46", 17))->name, "cardperso");
  EXPECT_EQ(sw_of(card.tx("A0A40800027F20")) >> 8, 0x9F);
  const char* rand = "000102030405060708090a0b0c0d0e0f";
  EXPECT_EQ(sw_of(card.tx(std::string("A088000010") + rand)), 0x9F0C);
  const auto t = milenage::gsm(keys.ki.view(), keys.opc.view(), hex(rand));
  EXPECT_EQ(to_hex(data_of(card.tx("A0C000000C"))), to_hex(t.sres) + to_hex(t.kc));
  // The master code no longer opens it; the card took the fresh issuer code.
  EXPECT_EQ(sw_of(card.sim.transmit(concat({hex("A020000A08"), cardsim::derive_master_code(kBatchSecret, iccids[0]).view()}))),
            0x9804);
  expect_no_number_lost();
}

TEST_F(PersoSessionTest, CustomerRefusedByPolicyTouchesNoCard) {
  auto c2 = customer(kMinor);
  const auto decision = c2.decision();
  EXPECT_FALSE(decision.go);
  EXPECT_NE(decision.reasons.find("18"), std::string::npos) << decision.reasons;
  EXPECT_TRUE(c2.to_ste.empty());  // the STE does not ask for a card
  EXPECT_TRUE(c2.has_log("customer refused by policy: "));
  auto recorded = must(records->decision(static_cast<std::int64_t>(decision.decision_id)));
  ASSERT_TRUE(recorded);
  EXPECT_FALSE(recorded->go);
  EXPECT_EQ(recorded->session_id.value_or(0), 7);
  EXPECT_EQ(session->state(), PersoSession::State::AwaitCustomer);

  // Details that do not parse are refused the same way, with the parser's reason.
  auto bad = customer(R"({"name":"X","colour":"blue"})");
  EXPECT_FALSE(bad.decision().go);
  EXPECT_NE(bad.decision().reasons.find("colour"), std::string::npos);

  // A card inserted anyway is not expected: the session ends, nothing in the store changes.
  Card card = blank_card(iccids[0]);
  auto p = insert(card);
  ASSERT_TRUE(p.end);
  EXPECT_EQ(p.end->code, proto::ErrorCode::UnexpectedMessage);
  EXPECT_EQ(state_of(iccids[0]), CardState::Blank);
  EXPECT_EQ(must(stock->find_card(iccids[0]))->attempts, 0);
  EXPECT_EQ(count("SELECT count(*) FROM number_allocations"), 0);
  EXPECT_EQ(card.sent, 0u);
  EXPECT_EQ(session->state(), PersoSession::State::Ended);
}

TEST_F(PersoSessionTest, UnknownIccidIsRefusedBeforeAnyApdu) {
  ASSERT_TRUE(customer().decision().go);
  Card card = blank_card(must(batch_iccid("8988211", 99)));
  auto p4 = insert(card);
  EXPECT_EQ(p4.find(p4.to_ste, MessageType::Script), nullptr);
  EXPECT_EQ(p4.done_to_ste().outcome, PersoOutcome::Refused);
  EXPECT_EQ(p4.done_to_dtd().outcome, PersoOutcome::Refused);
  EXPECT_FALSE(p4.done_to_dtd().reason.empty());
  EXPECT_TRUE(p4.has_log("card " + card.iccid + " refused: "));
  EXPECT_EQ(count("SELECT count(*) FROM number_allocations"), 0);
  EXPECT_EQ(session->state(), PersoSession::State::AwaitCustomer);
  expect_no_number_lost();
}

TEST_F(PersoSessionTest, AnotherRetailersCardIsRefused) {
  ASSERT_TRUE(customer().decision().go);
  Card card = blank_card(other_retailers_card);
  auto p4 = insert(card);
  EXPECT_EQ(p4.find(p4.to_ste, MessageType::Script), nullptr);
  const auto done = p4.done_to_ste();
  EXPECT_EQ(done.outcome, PersoOutcome::Refused);
  EXPECT_EQ(done.reason.find(kRetailerB), std::string::npos);  // does not name the owner
  EXPECT_EQ(state_of(other_retailers_card), CardState::Blank);
  EXPECT_EQ(must(stock->find_card(other_retailers_card))->attempts, 0);
  EXPECT_EQ(count("SELECT count(*) FROM number_allocations"), 0);
}

TEST_F(PersoSessionTest, WrongMasterCodeSpoilsTheCardAndLosesNoNumber) {
  // The maker wrote the right card key but another master code: the card proves itself, then refuses
  // its ADM1.
  const Bytes other_secret = hex("ffeeddccbbaa99887766554433221100");
  Card card(iccids[0], cardsim::make_blank_sim(iccids[0], cardsim::derive_master_code(other_secret, iccids[0]).view(),
                                               cardsim::derive_card_key(kBatchSecret, iccids[0]).view()));
  auto p4 = personalise(card);
  EXPECT_EQ(last_result.outcome, perso::ScriptOutcome::UnexpectedStatus);
  EXPECT_EQ(last_result.status_words, std::vector<std::uint16_t>{0x9804});
  EXPECT_EQ(card.sent, 1u);  // one try of the card's ADM1, no retry
  const auto done = p4.done_to_dtd();
  EXPECT_EQ(done.outcome, PersoOutcome::Failed);
  EXPECT_TRUE(done.msisdn.empty());
  EXPECT_TRUE(p4.has_log("card " + iccids[0] + " failed at step 1: ")) << p4.logs.back();
  EXPECT_EQ(p4.find(p4.to_dtd, MessageType::Receipt), nullptr);
  auto summary = must(stock->find_card(iccids[0]));
  EXPECT_EQ(summary->state, CardState::Spoiled);  // the derived code would be refused again
  EXPECT_EQ(summary->failed_step.substr(0, 3), "1/4");
  EXPECT_TRUE(must(records->history(iccids[0])).empty());
  EXPECT_EQ(numbers_in("released"), 2);
  EXPECT_EQ(numbers_in("reserved"), 0);
  expect_no_number_lost();

  // The released numbers go to the next card.
  Card good = blank_card(iccids[1]);
  auto ok = personalise(good);
  EXPECT_EQ(ok.done_to_ste().outcome, PersoOutcome::Personalised);
  EXPECT_EQ(ok.done_to_ste().msisdn, "44770090001");
  EXPECT_EQ(numbers_in("released"), 0);
  expect_no_number_lost();
}

TEST_F(PersoSessionTest, AlreadyPersonalisedCardIsRefusedForANewCustomer) {
  Card card = blank_card(iccids[0]);
  ASSERT_EQ(personalise(card).done_to_ste().outcome, PersoOutcome::Personalised);
  card.reset();
  ASSERT_TRUE(customer(R"({"name":"Grace Hopper","date_of_birth":"1986-12-09"})").decision().go);
  auto p4 = insert(card);
  EXPECT_EQ(p4.find(p4.to_ste, MessageType::Script), nullptr);
  EXPECT_EQ(p4.done_to_ste().outcome, PersoOutcome::Refused);
  EXPECT_NE(p4.done_to_ste().reason.find("personalised"), std::string::npos) << p4.done_to_ste().reason;
  EXPECT_EQ(card.sent, 0u);
  EXPECT_EQ(state_of(iccids[0]), CardState::Personalised);
  EXPECT_EQ(must(records->history(iccids[0])).size(), 1u);
  expect_no_number_lost();
}

// The shop never heard the outcome (its P4 was lost) and tries the same card for the same customer
// again: it gets the committed outcome again — the same MSISDN, the receipt marked re-issued —
// audited once; no script, no number moves, the record stays version 1.
TEST_F(PersoSessionTest, ARetryOfACommittedCardGetsTheSameOutcomeAgain) {
  Card card = blank_card(iccids[0]);
  const auto first = personalise(card);
  ASSERT_EQ(first.done_to_ste().outcome, PersoOutcome::Personalised);
  const std::string msisdn = first.done_to_ste().msisdn;
  const auto allocations_before = numbers_in("committed");
  card.reset();
  ASSERT_TRUE(customer().decision().go);
  auto again = insert(card);
  EXPECT_EQ(again.find(again.to_ste, MessageType::Script), nullptr);
  EXPECT_EQ(again.done_to_ste().outcome, PersoOutcome::Personalised);
  EXPECT_EQ(again.done_to_ste().msisdn, msisdn);
  EXPECT_EQ(card.sent, 0u);
  const auto* receipt_msg = again.find(again.to_dtd, MessageType::Receipt);
  ASSERT_NE(receipt_msg, nullptr);
  auto doc = nlohmann::json::parse(must(proto::ReceiptMsg::decode(receipt_msg->plaintext.view())).json);
  EXPECT_EQ(doc["receipt_id"], iccids[0] + "-1");
  EXPECT_EQ(doc["msisdn"], msisdn);
  EXPECT_EQ(doc["customer_name"], "Ada Lovelace");
  EXPECT_EQ(doc["reissued"], true);
  EXPECT_TRUE(again.has_log("outcome given again"));
  EXPECT_EQ(must(records->history(iccids[0])).size(), 1u);
  EXPECT_EQ(numbers_in("committed"), allocations_before);
  std::size_t reissued = 0;
  for (const auto& e : must(audit->last(1000))) reissued += e.event == "receipt_reissued" && e.subject == iccids[0] ? 1 : 0;
  EXPECT_EQ(reissued, 1u);
  expect_no_number_lost();
}

TEST_F(PersoSessionTest, CardPulledMidScriptIsRecordedFailedAtTheStepReachedAndReopensWithItsIssuerCode) {
  Card card = blank_card(iccids[0]);
  ASSERT_TRUE(customer().decision().go);
  auto p2 = insert(card);
  card.pull_at = 17;
  auto p4 = run_script(p2, card);
  EXPECT_EQ(last_result.outcome, perso::ScriptOutcome::TransmitFailed);
  EXPECT_EQ(p4.done_to_ste().outcome, PersoOutcome::Failed);
  EXPECT_NE(p4.done_to_ste().reason.find("card removed"), std::string::npos);
  EXPECT_TRUE(p4.has_log("card " + iccids[0] + " failed at step 18: "));
  auto summary = must(stock->find_card(iccids[0]));
  EXPECT_EQ(summary->state, CardState::Failed);
  EXPECT_EQ(summary->failed_step.substr(0, 6), "18/43 ");
  EXPECT_EQ(numbers_in("reserved"), 2);  // the card carries them: kept for its retry
  expect_no_number_lost();

  // The card had already taken its new issuer code (step 3): the retry opens with that one (step 1
  // passes). The files the pulled run created answer 6A89 and are selected instead, every value is
  // written again: the card is personalised on its second attempt.
  card.reset();
  auto again = personalise(card);
  ASSERT_EQ(last_result.outcome, perso::ScriptOutcome::Completed) << last_result.reason;
  EXPECT_EQ(last_result.status_words[0], 0x9000);  // VERIFY ADM1 with the recorded issuer code
  EXPECT_EQ(again.done_to_ste().outcome, PersoOutcome::Personalised);
  auto after = must(stock->find_card(iccids[0]));
  EXPECT_EQ(after->attempts, 2);
  EXPECT_EQ(after->state, CardState::Personalised);
  EXPECT_EQ(must(records->history(iccids[0])).size(), 1u);
  expect_no_number_lost();
}

TEST_F(PersoSessionTest, ProofMismatchLeavesTheCardNotPersonalised) {
  Card card = blank_card(iccids[0]);
  ASSERT_TRUE(customer().decision().go);
  auto p2 = insert(card);
  auto p4 = run_script(p2, card, [](perso::ScriptResult& r) {
    ASSERT_EQ(r.response.size(), 12u);
    r.response[0] ^= 0x01;  // SRES as a card with other keys would answer
  });
  const auto done = p4.done_to_ste();
  EXPECT_EQ(done.outcome, PersoOutcome::Failed);
  EXPECT_NE(done.reason.find("proof mismatch"), std::string::npos) << done.reason;
  EXPECT_TRUE(p4.has_log("card " + iccids[0] + " failed at step 43: proof mismatch"));
  EXPECT_EQ(p4.find(p4.to_dtd, MessageType::Receipt), nullptr);
  EXPECT_EQ(state_of(iccids[0]), CardState::Failed);
  EXPECT_TRUE(must(records->history(iccids[0])).empty());
  EXPECT_EQ(numbers_in("committed"), 0);
  expect_no_number_lost();
}

TEST_F(PersoSessionTest, ModificationChangesTheSpnAsANewRecordVersion) {
  Card card = blank_card(iccids[0]);
  ASSERT_EQ(personalise(card).done_to_ste().outcome, PersoOutcome::Personalised);
  card.reset();

  auto c2 = modification(R"({"iccid":")" + iccids[0] + R"(","changes":{"spn":"NEW-NET","plmnsel":["295/10"]}})");
  ASSERT_TRUE(c2.decision().go) << c2.decision().reasons;
  EXPECT_EQ(c2.decision().kind, proto::RequestKind::Modification);
  ASSERT_NE(c2.find(c2.to_ste, MessageType::Decision), nullptr);
  auto p2 = insert(card);
  auto script = must(perso::decode_script(p2.find(p2.to_ste, MessageType::Script)->plaintext.view()));
  EXPECT_EQ(script.steps[0].label, "verify ADM1 (issuer code)");
  EXPECT_FALSE(script.prompts.puk);
  auto p4 = run_script(p2, card);
  ASSERT_EQ(last_result.outcome, perso::ScriptOutcome::Completed) << last_result.reason;
  EXPECT_EQ(p4.done_to_ste().outcome, PersoOutcome::Modified);
  EXPECT_EQ(p4.done_to_dtd().msisdn, "44770090001");
  auto doc = nlohmann::json::parse(must(proto::ReceiptMsg::decode(p4.find(p4.to_dtd, MessageType::Receipt)->plaintext.view())).json);
  EXPECT_EQ(doc["outcome"], "modified");
  EXPECT_EQ(doc["record_version"], 2);
  EXPECT_EQ(doc["customer_name"], "Ada Lovelace");

  auto history = must(records->history(iccids[0]));
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[1].version, 2);
  EXPECT_EQ(history[1].spn, "NEW-NET");
  EXPECT_EQ(history[1].plmnsel.substr(0, 6), "92f501");
  EXPECT_EQ(history[1].imsi, history[0].imsi);
  EXPECT_EQ(history[1].subscriber_id, history[0].subscriber_id);
  EXPECT_EQ(state_of(iccids[0]), CardState::Personalised);
  card.reset();
  EXPECT_EQ(perso::decode_spn(read_binary(card, "047F206F46", 17))->name, "NEW-NET");
  expect_no_number_lost();

  // A modification of a card that was never personalised is refused at once.
  auto no = modification(R"({"iccid":")" + iccids[1] + R"(","changes":{"spn":"X"}})");
  EXPECT_FALSE(no.decision().go);
  EXPECT_TRUE(no.to_ste.empty());
  // And the approved card must be the one inserted.
  ASSERT_TRUE(modification(R"({"iccid":")" + iccids[0] + R"(","changes":{"spn":"Y"}})").decision().go);
  Card other = blank_card(iccids[1]);
  auto refused = insert(other);
  EXPECT_EQ(refused.done_to_ste().outcome, PersoOutcome::Refused);
  EXPECT_EQ(state_of(iccids[1]), CardState::Blank);
}

TEST_F(PersoSessionTest, ModificationGivesTheCardANewNumberAndQueuesItForTheHlr) {
  Card card = blank_card(iccids[0]);
  ASSERT_EQ(personalise(card).done_to_ste().outcome, PersoOutcome::Personalised);
  card.reset();
  const std::string old_msisdn = must(records->history(iccids[0]))[0].msisdn;

  auto c2 = modification(R"({"iccid":")" + iccids[0] + R"(","changes":{"msisdn":"new"}})");
  ASSERT_TRUE(c2.decision().go) << c2.decision().reasons;
  auto p4 = run_script(insert(card), card);
  ASSERT_EQ(last_result.outcome, perso::ScriptOutcome::Completed) << last_result.reason;
  EXPECT_EQ(p4.done_to_ste().outcome, PersoOutcome::Modified);
  const std::string new_msisdn = p4.done_to_dtd().msisdn;
  EXPECT_NE(new_msisdn, old_msisdn);
  auto history = must(records->history(iccids[0]));
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[1].msisdn, new_msisdn);
  EXPECT_EQ(history[1].imsi, history[0].imsi);
  // The new number is committed to the card, the old one back in the pool.
  EXPECT_EQ(count("SELECT count(*) FROM number_allocations WHERE value = '" + new_msisdn +
                                       "' AND state = 'committed' AND iccid = '" + iccids[0] + "'"),
            1);
  EXPECT_EQ(count("SELECT count(*) FROM number_allocations WHERE value = '" + old_msisdn +
                                       "' AND state = 'released'"),
            1);
  // The HLR is told: version 2 is provisioned after version 1.
  EXPECT_EQ(count("SELECT count(*) FROM hlr_jobs WHERE iccid = '" + iccids[0] +
                                       "' AND action = 'provision' AND record_version = 2"),
            1);
  expect_no_number_lost();
}

TEST_F(PersoSessionTest, TwoCardsInOneSession) {
  Card first = blank_card(iccids[0]);
  Card second = blank_card(iccids[1]);
  auto a = personalise(first);
  auto b = personalise(second);
  EXPECT_EQ(a.done_to_dtd().outcome, PersoOutcome::Personalised);
  EXPECT_EQ(b.done_to_dtd().outcome, PersoOutcome::Personalised);
  EXPECT_NE(a.done_to_dtd().msisdn, b.done_to_dtd().msisdn);
  EXPECT_EQ(session->cards_done(), 2u);
  EXPECT_EQ(state_of(iccids[0]), CardState::Personalised);
  EXPECT_EQ(state_of(iccids[1]), CardState::Personalised);
  EXPECT_EQ(numbers_in("committed"), 4);
  expect_no_number_lost();
}

TEST_F(PersoSessionTest, SessionEndingWhileTheScriptRunsFailsTheCard) {
  Card card = blank_card(iccids[0]);
  ASSERT_TRUE(customer().decision().go);
  auto p2 = insert(card);
  ASSERT_EQ(state_of(iccids[0]), CardState::InProgress);
  PersoActions closed = session->on_closed("timeout");
  auto out = collect(std::move(closed));
  EXPECT_TRUE(out.to_ste.empty() && out.to_dtd.empty());
  EXPECT_TRUE(out.has_log("card " + iccids[0] + " failed at step unknown"));
  EXPECT_EQ(state_of(iccids[0]), CardState::Failed);
  EXPECT_EQ(numbers_in("reserved"), 2);  // the card may carry them: kept for its retry
  EXPECT_EQ(session->state(), PersoSession::State::Ended);
  expect_no_number_lost();
}

TEST_F(PersoSessionTest, MessagesOutOfTurnEndTheSessionWithoutAStoreChange) {
  auto p3_first = collect(session->on_message(Channel::SteAds, MessageType::ScriptResult, Bytes{1, 2, 3}));
  ASSERT_TRUE(p3_first.end);
  EXPECT_EQ(p3_first.end->code, proto::ErrorCode::UnexpectedMessage);
  EXPECT_EQ(count("SELECT count(*) FROM decisions"), 0);
  // A malformed C1 also ends it.
  session.emplace(*services, PersoSessionInfo{kRetailerA, 8});
  auto bad = collect(session->on_message(Channel::DtdAds, MessageType::CustomerDetails, Bytes{9}));
  ASSERT_TRUE(bad.end);
  EXPECT_EQ(bad.end->code, proto::ErrorCode::BadFrame);
  EXPECT_EQ(count("SELECT count(*) FROM decisions"), 0);
}

// ---- the terminal's check (K1/K2) ----------------------------------------------------------

std::size_t audited(AuditLog& log, const std::string& event, const std::string& subject) {
  std::size_t n = 0;
  for (const auto& e : must(log.last(1000))) n += e.event == event && e.subject == subject ? 1 : 0;
  return n;
}

// Before any code, key or number is chosen, the terminal gets what it must show, as the ADS stored it.
TEST_F(PersoSessionTest, TheTerminalIsShownTheCustomerAsStoredAndTheCardIsChallenged) {
  ASSERT_TRUE(customer(R"({"name":"  Ada   Lovelace ","date_of_birth":"1990-12-10","id_document":"passport",)"
                       R"("id_number":"X1234567"})").decision().go);
  Card card = blank_card(iccids[0]);
  auto k1 = insert_only(card);
  ASSERT_EQ(k1.to_ste.size(), 1u);
  EXPECT_TRUE(k1.to_dtd.empty());
  const auto check = must(proto::CardCheckMsg::decode(k1.to_ste[0].plaintext.view()));
  EXPECT_EQ(check.kind, proto::RequestKind::NewCard);
  EXPECT_EQ(check.iccid, iccids[0]);
  EXPECT_EQ(check.name, must(policy::parse_customer_details(
                                 R"({"name":"  Ada   Lovelace ","date_of_birth":"1990-12-10"})")).name);
  EXPECT_EQ(check.id, "passport ending 4567");
  EXPECT_TRUE(check.changes.empty());
  ASSERT_EQ(check.challenge.size(), 16u);
  EXPECT_EQ(session->state(), PersoSession::State::AwaitCheck);
  EXPECT_EQ(state_of(iccids[0]), CardState::Blank);  // nothing begun yet
  EXPECT_EQ(count("SELECT count(*) FROM number_allocations"), 0);
  auto p2 = answer_check(k1, card);
  ASSERT_NE(p2.find(p2.to_ste, MessageType::Script), nullptr);
  EXPECT_EQ(run_script(p2, card).done_to_ste().outcome, PersoOutcome::Personalised);
  // Each check has its own challenge.
  ASSERT_TRUE(customer().decision().go);
  Card next = blank_card(iccids[1]);
  auto k1b = insert_only(next);
  EXPECT_NE(must(proto::CardCheckMsg::decode(k1b.to_ste[0].plaintext.view())).challenge, check.challenge);
}

TEST_F(PersoSessionTest, CancelOnTheKeypadEndsTheCardWithNothingChosenOrWritten) {
  ASSERT_TRUE(customer().decision().go);
  Card card = blank_card(iccids[0]);
  auto k1 = insert_only(card);
  auto p4 = answer_check(k1, card, /*confirm=*/false);
  EXPECT_EQ(p4.find(p4.to_ste, MessageType::Script), nullptr);
  EXPECT_EQ(p4.done_to_ste().outcome, PersoOutcome::Refused);
  EXPECT_EQ(p4.done_to_dtd().outcome, PersoOutcome::Refused);
  EXPECT_NE(p4.done_to_dtd().reason.find("cancelled on the terminal's keypad"), std::string::npos);
  EXPECT_EQ(card.sent, 0u);
  auto summary = must(stock->find_card(iccids[0]));
  EXPECT_EQ(summary->state, CardState::Blank);
  EXPECT_EQ(summary->attempts, 0);
  EXPECT_EQ(count("SELECT count(*) FROM number_allocations"), 0);
  EXPECT_EQ(audited(*audit, "card_cancelled", iccids[0]), 1u);
  EXPECT_EQ(session->state(), PersoSession::State::AwaitCustomer);
  // The next customer goes on as usual, on the same card.
  card.reset();
  EXPECT_EQ(personalise(card).done_to_ste().outcome, PersoOutcome::Personalised);
  expect_no_number_lost();
}

// A card that claims a stock ICCID but holds another key (or none) gets no script: no code leaves.
TEST_F(PersoSessionTest, ACardThatCannotProveItsIccidGetsNothing) {
  for (const bool has_key : {true, false}) {
    SCOPED_TRACE(has_key ? "a card key of another batch" : "no card key");
    ASSERT_TRUE(customer().decision().go);
    const Bytes other_secret = hex("ffeeddccbbaa99887766554433221100");
    Card fake(iccids[0], cardsim::make_blank_sim(iccids[0], cardsim::derive_master_code(other_secret, iccids[0]).view(),
                                                 has_key ? cardsim::derive_card_key(other_secret, iccids[0]).view()
                                                         : ByteView{}));
    auto p4 = insert(fake);
    EXPECT_EQ(p4.find(p4.to_ste, MessageType::Script), nullptr);
    EXPECT_EQ(p4.done_to_ste().outcome, PersoOutcome::Refused);
    EXPECT_NE(p4.done_to_ste().reason.find("did not prove"), std::string::npos) << p4.done_to_ste().reason;
    EXPECT_EQ(fake.sent, 0u);
    EXPECT_EQ(state_of(iccids[0]), CardState::Blank);
    EXPECT_EQ(must(stock->find_card(iccids[0]))->attempts, 0);
    EXPECT_EQ(count("SELECT count(*) FROM number_allocations"), 0);
  }
  EXPECT_EQ(audited(*audit, "card_proof_failed", iccids[0]), 2u);
  // The real card is untouched by all this.
  Card real = blank_card(iccids[0]);
  EXPECT_EQ(personalise(real).done_to_ste().outcome, PersoOutcome::Personalised);
}

TEST_F(PersoSessionTest, ACsvBatchCardHasNoChallengeAndThePolicyMayRefuseIt) {
  must(stock->import_csv_text("CSV1", "iccid,adm1\n8988211000000530108,12345678\n", "f"));
  must(stock->assign_batch("CSV1", kRetailerA));
  const std::string iccid = "8988211000000530108";
  ASSERT_TRUE(customer().decision().go);
  Card card(iccid, cardsim::make_blank_sim(iccid, Bytes{'1', '2', '3', '4', '5', '6', '7', '8'}));
  auto k1 = insert_only(card);
  ASSERT_NE(k1.find(k1.to_ste, MessageType::CardCheck), nullptr);
  EXPECT_TRUE(must(proto::CardCheckMsg::decode(k1.to_ste[0].plaintext.view())).challenge.empty());
  EXPECT_TRUE(k1.has_log("its batch has no card keys"));
  auto p2 = answer_check(k1, card);
  EXPECT_NE(p2.find(p2.to_ste, MessageType::Script), nullptr);
  session->on_closed("test over");

  PersoConfig strict = *services->config();
  strict.require_card_key = true;
  services.emplace(*db, key, strict, policy::default_policy(), "ads-test", [this] { return now; });
  session.emplace(*services, PersoSessionInfo{kRetailerA, 9});
  const std::string other = "8988211000000530116";
  must(stock->import_csv_text("CSV2", "iccid,adm1\n" + other + ",12345678\n", "f"));
  must(stock->assign_batch("CSV2", kRetailerA));
  ASSERT_TRUE(customer().decision().go);
  Card csv_card(other, cardsim::make_blank_sim(other, Bytes{'1', '2', '3', '4', '5', '6', '7', '8'}));
  auto p4 = insert_only(csv_card);
  EXPECT_EQ(p4.find(p4.to_ste, MessageType::CardCheck), nullptr);
  EXPECT_EQ(p4.done_to_ste().outcome, PersoOutcome::Refused);
  EXPECT_NE(p4.done_to_ste().reason.find("without card keys"), std::string::npos);
  EXPECT_EQ(audited(*audit, "card_without_key", other), 1u);
  EXPECT_EQ(state_of(other), CardState::Blank);
  // A secret batch's card still goes through under the strict policy.
  ASSERT_TRUE(customer().decision().go);
  Card keyed = blank_card(iccids[1]);
  auto keyed_p2 = insert(keyed);
  EXPECT_NE(keyed_p2.find(keyed_p2.to_ste, MessageType::Script), nullptr);
}

TEST_F(PersoSessionTest, AModificationShowsTheChangesAndTheNameOnRecord) {
  Card card = blank_card(iccids[0]);
  ASSERT_EQ(personalise(card).done_to_ste().outcome, PersoOutcome::Personalised);
  card.reset();
  ASSERT_TRUE(modification(R"({"iccid":")" + iccids[0] + R"(","changes":{"spn":"NEW-NET","plmnsel":["295/10"]}})")
                  .decision().go);
  auto k1 = insert_only(card);
  const auto check = must(proto::CardCheckMsg::decode(k1.find(k1.to_ste, MessageType::CardCheck)->plaintext.view()));
  EXPECT_EQ(check.kind, proto::RequestKind::Modification);
  EXPECT_EQ(check.name, "Ada Lovelace");
  EXPECT_TRUE(check.id.empty());
  EXPECT_EQ(check.changes, "SPN 'NEW-NET'; PLMN list 295/10");
  EXPECT_EQ(check.challenge.size(), 16u);  // a personalised card proves itself too: its issuer code is at stake
  auto p4 = answer_check(k1, card, false);
  EXPECT_EQ(p4.done_to_ste().outcome, PersoOutcome::Refused);
  EXPECT_EQ(must(records->history(iccids[0])).size(), 1u);
  EXPECT_EQ(state_of(iccids[0]), CardState::Personalised);
}

TEST_F(PersoSessionTest, AnAnswerWithoutACheckEndsTheSession) {
  proto::CardCheckAnswerMsg k2{proto::CheckAnswer::Confirmed, {}};
  auto out = collect(session->on_message(Channel::SteAds, MessageType::CardCheckAnswer, k2.encode()));
  ASSERT_TRUE(out.end);
  EXPECT_EQ(out.end->code, proto::ErrorCode::UnexpectedMessage);
}

// A reload (ads-server on SIGHUP) while a card's script is out: that card is recorded with the profile
// and values its script was built with; the next customer meets the new policy, the next card the new
// profile and SPN.
TEST_F(PersoSessionTest, AReloadMidCardLeavesThatCardOnTheConfigurationItStartedWith) {
  ASSERT_TRUE(customer().decision().go);
  Card card = blank_card(iccids[0]);
  auto p2 = insert(card);
  ASSERT_NE(p2.find(p2.to_ste, MessageType::Script), nullptr);

  PersoConfig reloaded = *services->config();
  reloaded.profile.name = "reloaded-profile";
  reloaded.spn = "RELOADED";
  policy::PolicyConfig strict = policy::default_policy();
  strict.min_age = 150;
  services->install(reloaded, strict);

  auto p4 = run_script(p2, card);
  ASSERT_EQ(p4.done_to_ste().outcome, PersoOutcome::Personalised) << last_result.reason;
  auto history = must(records->history(iccids[0]));
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0].profile, "gsm-sim-default");
  EXPECT_EQ(history[0].spn, "cardperso");
  EXPECT_EQ(perso::decode_spn(read_binary(card, "047F206F46", 17))->name, "cardperso");

  const auto refused = customer().decision();
  EXPECT_FALSE(refused.go);
  EXPECT_NE(refused.reasons.find("150"), std::string::npos) << refused.reasons;

  // A customer approved under one configuration keeps it for the card, even across another reload.
  services->install(reloaded, policy::default_policy());
  ASSERT_TRUE(customer().decision().go);
  PersoConfig third = reloaded;
  third.profile.name = "third-profile";
  third.spn = "THIRD";
  services->install(third, policy::default_policy());
  Card second = blank_card(iccids[1]);
  auto second_p4 = run_script(insert(second), second);
  ASSERT_EQ(second_p4.done_to_ste().outcome, PersoOutcome::Personalised) << last_result.reason;
  history = must(records->history(iccids[1]));
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0].profile, "reloaded-profile");
  EXPECT_EQ(history[0].spn, "RELOADED");
  EXPECT_EQ(perso::decode_spn(read_binary(second, "047F206F46", 17))->name, "RELOADED");
  expect_no_number_lost();
}

}  // namespace
}  // namespace cardperso::ads
