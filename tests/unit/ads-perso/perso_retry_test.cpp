// Crash safety of a personalisation: the customer card pulled at every APDU of the default-profile
// script, in both ways a pull can land —
//   before: the card never got APDU k;
//   after:  the card executed APDU k but its answer was lost —
// then the retry the ADS allows on the same card. Real PersoSession + SqlitePersoServices + CardStock
// on a real SQLite file; the STE's executor; an in-memory blank virtual SIM (the card-sim engine).
// Every case ends with the card personalised on its retry and holding exactly what the ADS recorded:
// the issuer code is chosen before the first script leaves, so the retry can present it when the ADS
// cannot know whether the card took it (step 1's VERIFY alternative, docs/personalisation.md §5), and
// a failed card keeps its numbers, so the retry writes the same ones.
#include <gtest/gtest.h>

#include <iostream>
#include <set>

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
using test::must;

const char* const kAdult = R"({"name":"Ada Lovelace","date_of_birth":"1990-12-10","id_number":"X1234567"})";
constexpr std::size_t kScriptApdus = 44;  // 43 steps + the proof's GET RESPONSE (docs/personalisation.md §3)
constexpr std::size_t kIssuerCodeApdu = 2;  // VERIFY ADM1, SELECT 000A, UPDATE 000A (0-based)

using testing::data_of;
using testing::sw_of;
using testing::perso_set::ascii_secret;

enum class Pull { Before, After };
const char* name(Pull p) { return p == Pull::Before ? "before" : "after"; }

// A customer card whose contacts break at APDU `pull_at` (0-based, GET RESPONSE included).
struct Card {
  std::string iccid;
  cardsim::SimCard sim;
  std::optional<std::size_t> pull_at;
  Pull mode = Pull::Before;
  std::size_t sent = 0;
  bool gone = false;
  // A card of a batch with this secret: master code and card key derived from it (cardperso-mkcards).
  Card(std::string id, ByteView batch_secret) : iccid(std::move(id)), sim(cardsim::make_stock_sim(iccid, batch_secret)) {
    sim.power_on();
  }
  // The STE's check of the card (K1 -> K2), on the card's contacts but not counted in `sent`.
  perso::TransmitFn check_transmit() {
    return [this](ByteView apdu) -> Result<Bytes> { return sim.transmit(apdu); };
  }
  perso::TransmitFn transmit() {
    return [this](ByteView apdu) -> Result<Bytes> {
      if (gone) return fail("card removed from the reader");
      if (pull_at && sent == *pull_at) {
        gone = true;
        if (mode == Pull::After) sim.transmit(apdu);  // executed; the answer never reaches the reader
        return fail("card removed from the reader");
      }
      ++sent;
      return sim.transmit(apdu);
    };
  }
  Bytes tx(std::string_view h) { return sim.transmit(hex(h)); }
  Bytes tx(const Bytes& apdu) { return sim.transmit(apdu); }
  void reinsert() {
    sim.power_off();
    sim.power_on();
    pull_at.reset();
    gone = false;
    sent = 0;
  }
};

struct Tally {
  std::size_t personalised = 0;
  std::vector<std::string> spoiled;
};

class PersoRetry : public test::StockTest {
 protected:
  void SetUp() override {
    StockTest::SetUp();
    iccids = secret_batch_for_a(2 * kScriptApdus + 1);  // the last one: a fresh card, never pulled
    add_pools();
    PersoConfig config;
    config.profile = must(perso::load_card_profile(std::string(CARDPERSO_PROFILES_DIR) + "/gsm-sim-default.json"));
    config.spn = "cardperso";
    config.plmns = {{"001", "01"}, {"295", "10"}};
    services.emplace(*db, key, config, policy::default_policy(), "ads-test", [this] { return now; });
  }

  // One visit to the shop: C1 (go), P1 with the card, and when the ADS answers P2, the STE runs it.
  // Returns the P4 outcome the STE got.
  PersoOutcome visit(Card& card) {
    session.emplace(*services, PersoSessionInfo{kRetailerA, std::nullopt});
    proto::CustomerDetailsMsg c1{proto::RequestKind::NewCard, kAdult};
    auto actions = session->on_message(Channel::DtdAds, MessageType::CustomerDetails, c1.encode());
    PersoActions more;
    for (auto& a : actions)
      if (auto* assess = std::get_if<AssessCustomer>(&a)) more = session->on_assessment(services->assess(assess->details));
    EXPECT_EQ(session->state(), PersoSession::State::AwaitCard);
    proto::CardInsertedMsg p1{card.iccid, card.sim.atr()};
    const SealMessage* script = nullptr;
    auto k1 = session->on_message(Channel::SteAds, MessageType::CardInserted, p1.encode());
    const SealMessage* check = nullptr;
    for (auto& a : k1)
      if (auto* m = std::get_if<SealMessage>(&a); m && m->type == MessageType::CardCheck) check = m;
    if (!check) return done_of(k1);
    auto k2 = must(testing::perso_set::card_check_answer(check->plaintext.view(), card.check_transmit()));
    auto p2 = session->on_message(Channel::SteAds, MessageType::CardCheckAnswer, k2);
    for (auto& a : p2)
      if (auto* m = std::get_if<SealMessage>(&a); m && m->type == MessageType::Script) script = m;
    if (!script) return done_of(p2);
    auto decoded = must(perso::decode_script(script->plaintext.view()));
    opening_label = decoded.steps.at(0).label;
    last_result = perso::execute_script(decoded, {ascii_secret("1234"), ascii_secret("1234"), ascii_secret("12345678")}, card.transmit());
    return done_of(session->on_message(Channel::SteAds, MessageType::ScriptResult, perso::encode_script_result(last_result)));
  }

  static PersoOutcome done_of(const PersoActions& actions) {
    for (const auto& a : actions)
      if (auto* m = std::get_if<SealMessage>(&a); m && m->type == MessageType::Done && m->channel == Channel::SteAds)
        return must(proto::DoneMsg::decode(m->plaintext.view())).outcome;
    ADD_FAILURE() << "no P4 to the STE";
    return PersoOutcome::Failed;
  }

  Bytes read_binary(Card& card, std::string_view path_hex, std::size_t len) {
    EXPECT_EQ(sw_of(card.tx("A0A40800" + std::string(path_hex))) >> 8, 0x9F) << path_hex;
    Bytes r = card.tx("A0B00000" + to_hex(Bytes{static_cast<std::uint8_t>(len)}));
    EXPECT_EQ(sw_of(r), 0x9000) << path_hex;
    return data_of(r);
  }

  // The card holds what the ADS recorded for it: IMSI, MSISDN, SPN, keys (the Milenage answer) and
  // the issuer code the ADS would open it with; the customer's PIN (the retry's) opens CHV1.
  void expect_card_matches_record(Card& card) {
    const auto history = must(records->history(card.iccid));
    ASSERT_EQ(history.size(), 1u);
    const auto keys = must(records->keys_of(card.iccid, 1));
    card.reinsert();
    EXPECT_EQ(sw_of(card.tx("A020000108 31323334FFFFFFFF")), 0x9000);
    EXPECT_EQ(must(perso::decode_imsi(read_binary(card, "047F206F07", 9))), history[0].imsi);
    EXPECT_EQ(must(perso::decode_spn(read_binary(card, "047F206F46", 17))).name, "cardperso");
    EXPECT_EQ(sw_of(card.tx("A0A40800047F106F40")) >> 8, 0x9F);
    const Bytes msisdn_record = card.tx("A0B2010422");
    ASSERT_EQ(sw_of(msisdn_record), 0x9000);
    std::string number = must(perso::decode_msisdn_record(data_of(msisdn_record))).number;
    if (!number.empty() && number[0] == '+') number.erase(0, 1);
    EXPECT_EQ(number, history[0].msisdn);
    EXPECT_EQ(sw_of(card.tx("A0A40800027F20")) >> 8, 0x9F);
    const char* rand = "000102030405060708090a0b0c0d0e0f";
    EXPECT_EQ(sw_of(card.tx(std::string("A088000010") + rand)), 0x9F0C);
    const auto t = milenage::gsm(keys.ki.view(), keys.opc.view(), hex(rand));
    EXPECT_TRUE(data_of(card.tx("A0C000000C")) == concat({t.sres, t.kc})) << "SRES/Kc differ from the recorded Ki/OPc";
    const auto opening = must(stock->lookup_card_for(kRetailerA, card.iccid, CardPurpose::Modification));
    EXPECT_EQ(opening.code_kind, OpeningCode::Issuer);
    EXPECT_EQ(sw_of(card.tx(concat({hex("A020000A08"), opening.code.view()}))), 0x9000)
        << "the issuer code the ADS holds does not open the card";
  }

  // One card: the first run pulled at `k`, then one retry on the same card.
  void pull_then_retry(std::size_t k, Pull mode, Tally& tally) {
    const std::string iccid = iccids[2 * k + (mode == Pull::After ? 1 : 0)];
    SCOPED_TRACE(fmt_case(k, mode));
    Card card(iccid, kBatchSecret);
    card.pull_at = k;
    card.mode = mode;
    EXPECT_EQ(visit(card), PersoOutcome::Failed);
    ASSERT_EQ(last_result.outcome, perso::ScriptOutcome::TransmitFailed) << last_result.reason;
    // The step reported: the one APDU k belongs to (the proof's GET RESPONSE belongs to RUN GSM).
    const std::size_t step = std::min(k, kScriptApdus - 2);
    EXPECT_EQ(last_result.failed_step, step);
    auto first = must(stock->find_card(iccid));
    EXPECT_EQ(first->state, CardState::Failed);
    EXPECT_EQ(first->attempts, 1);
    EXPECT_EQ(first->failed_step.rfind(std::to_string(step + 1) + "/43 ", 0), 0u) << first->failed_step;
    EXPECT_TRUE(must(records->history(iccid)).empty());
    // The numbers stay with the card unless the first run stopped at its VERIFY (nothing written).
    const auto kept = must(pools->numbers_of(iccid));
    EXPECT_EQ(kept.size(), k == 0 ? 0u : 2u);
    for (const auto& n : kept) EXPECT_EQ(n.state, NumberState::Reserved);

    card.reinsert();
    const PersoOutcome outcome = visit(card);
    // The ADS opens with the issuer code when the first run was stopped after writing it, with the
    // master code before it, and with both (master first) when the pull hit the write itself.
    EXPECT_EQ(opening_label, k > kIssuerCodeApdu    ? "verify ADM1 (issuer code)"
                             : k == kIssuerCodeApdu ? "verify ADM1 (master code, else issuer code)"
                                                    : "verify ADM1 (manufacturer master code)");
    // The write went through only when the pull came after it: then the alternative opened the card.
    if (k == kIssuerCodeApdu && !last_result.status_words.empty()) {
      EXPECT_EQ(last_result.status_words[0], mode == Pull::After ? perso::kSwCodeRefused : 0x9000);
    }
    auto second = must(stock->find_card(iccid));
    if (outcome == PersoOutcome::Personalised) {
      EXPECT_EQ(last_result.outcome, perso::ScriptOutcome::Completed);
      EXPECT_EQ(second->state, CardState::Personalised);
      EXPECT_EQ(second->attempts, 2);
      expect_card_matches_record(card);
      const auto history = must(records->history(iccid));
      for (const auto& n : kept) EXPECT_EQ(n.value, n.kind == NumberKind::Imsi ? history.at(0).imsi : history.at(0).msisdn);
      ++tally.personalised;
      return;
    }
    // Not personalised: then spoiled (never "failed" again: nothing was pulled this time), and the
    // ADS holds no record for it.
    EXPECT_EQ(second->state, CardState::Spoiled) << last_result.reason;
    EXPECT_TRUE(must(records->history(iccid)).empty());
    tally.spoiled.push_back(fmt_case(k, mode) + ": " + last_result.reason);
  }

  static std::string fmt_case(std::size_t k, Pull mode) {
    return "pulled " + std::string(name(mode)) + " APDU " + std::to_string(k + 1);
  }

  std::int64_t count(const std::string& sql) { return test::raw_int(db_path, sql); }

  std::vector<std::string> iccids;
  std::optional<SqlitePersoServices> services;
  std::optional<PersoSession> session;
  perso::ScriptResult last_result;
  std::string opening_label;  // of the last script: which ADM1 code the ADS chose
};

TEST_F(PersoRetry, CardPulledAtEveryApduIsPersonalisedOnItsRetry) {
  // The script of a fresh card is what the pulls are counted against.
  Card fresh(iccids.back(), kBatchSecret);
  ASSERT_EQ(visit(fresh), PersoOutcome::Personalised);
  ASSERT_EQ(fresh.sent, kScriptApdus);  // no fallback SELECT on a blank card
  expect_card_matches_record(fresh);
  Tally tally;
  for (std::size_t k = 0; k < kScriptApdus; ++k)
    for (Pull mode : {Pull::Before, Pull::After}) pull_then_retry(k, mode, tally);

  std::cout << "[ retry    ] " << 2 * kScriptApdus << " pulls: " << tally.personalised
            << " personalised on the retry, " << tally.spoiled.size() << " spoiled\n";
  for (const auto& s : tally.spoiled) std::cout << "[ spoiled  ] " << s << "\n";
  RecordProperty("personalised_on_retry", static_cast<int>(tally.personalised));
  RecordProperty("spoiled", static_cast<int>(tally.spoiled.size()));

  // No loss: even the pull right after the card took its new issuer code (UPDATE 000A, answer lost)
  // ends personalised, the retry's VERIFY alternative presenting the pending code after the master
  // code's 9804 (a correct VERIFY resets the ADM counter: the wrong guess costs nothing lasting).
  EXPECT_TRUE(tally.spoiled.empty());
  EXPECT_EQ(tally.personalised, 2 * kScriptApdus);

  // The database: every personalised card committed its two numbers, nothing else is held.
  const auto personalised = static_cast<std::int64_t>(tally.personalised) + 1;  // and the fresh card
  EXPECT_EQ(count("SELECT count(*) FROM cards WHERE state = 'personalised'"), personalised);
  EXPECT_EQ(count("SELECT count(*) FROM cards WHERE state = 'spoiled'"), static_cast<std::int64_t>(tally.spoiled.size()));
  EXPECT_EQ(count("SELECT count(*) FROM number_allocations WHERE state = 'committed'"), 2 * personalised);
  EXPECT_EQ(count("SELECT count(*) FROM number_allocations WHERE state IN ('reserved', 'retired')"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM number_allocations a JOIN cards c ON c.iccid = a.iccid "
                  "WHERE a.state = 'committed' AND c.state <> 'personalised'"),
            0);
  EXPECT_EQ(count("SELECT count(*) FROM cards WHERE state = 'in_progress'"), 0);
}

}  // namespace
}  // namespace cardperso::ads
