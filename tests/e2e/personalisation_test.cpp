// Customer card personalisation end to end: adsctl + cardperso-mkcards stock, card-sim customer cards
// (through a VpcdTap that records every APDU), ads-server with the default profile, dtd-agent with
// customer/modification files, ste-firmware with a keypad script; then the card read back through
// PC/SC with cardperso-simread. Every case checks the STE display, the DTD log/receipts and the ADS
// database (card state, records, number allocations: no number lost). Each runs in its own sandbox.
#include <algorithm>
#include <filesystem>
#include <regex>
#include <thread>

#include "cardperso/common/crypto.hpp"
#include "cardperso/common/milenage.hpp"
#include "cardperso/perso/script.hpp"
#include "cardperso/perso/sim_encoding.hpp"
#include "personalisation_fixture.hpp"

using namespace cardperso;
using namespace cardperso::e2e;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

const std::vector<int> kDefaultSst = {1, 2, 4, 7, 9, 12, 17};  // profiles/gsm-sim-default.json
constexpr std::size_t kScriptApdus = 44;                         // 43 steps + the proof's GET RESPONSE

class Personalisation : public PersonalisationFixture {
 protected:
  std::vector<std::string> keypad_for(int new_cards, int modifications = 0) {
    std::vector<std::string> keys = {kPin};
    for (int i = 0; i < new_cards; ++i)
      for (auto& k : new_card_keys()) keys.push_back(k);
    for (int i = 0; i < modifications; ++i) {
      keys.push_back("ok");
      keys.push_back(kCustomerPin);
    }
    return keys;
  }

  std::string receipt_of(const std::string& iccid) { return read_text_file(receipt_dir_ + "/receipt-" + iccid + ".txt"); }

  std::size_t receipt_count() {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(receipt_dir_)) ++n;
    return n;
  }

  void expect_dtd_log(const std::string& re) {
    EXPECT_TRUE(wait_for_log(dtd_log_, std::regex(re), 5s)) << "dtd-agent did not log /" << re << "/\n" << dtd_log();
  }

  // Waits for the STE's verdict on the current card (the next outcome line: each card gets exactly
  // one), checks it against re and pulls the card. Returns re's first group (or the whole line).
  std::string card_outcome(cardperso::testing::CardSimProcess* card, const std::string& re) {
    static const std::regex outcome("^(Card personalised: |Card updated$|Card refused: |Personalisation failed: )");
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    std::vector<std::string> outcomes;
    for (;;) {
      outcomes.clear();
      for (const auto& t : display())
        if (std::regex_search(t, outcome)) outcomes.push_back(t);
      if (outcomes.size() > outcomes_seen_ || std::chrono::steady_clock::now() >= deadline) break;
      wait_display_count("(none)", 1, 100ms);  // reads more lines
    }
    if (outcomes.size() <= outcomes_seen_) {
      ADD_FAILURE() << "STE showed no outcome for card " << outcomes_seen_ + 1 << "\n" << display_text();
      return "";
    }
    const std::string line = outcomes[outcomes_seen_++];
    pull(card);
    std::smatch m;
    if (!std::regex_search(line, m, std::regex("^" + re))) {
      ADD_FAILURE() << "card " << outcomes_seen_ << ": STE showed '" << line << "', expected /" << re << "/\n"
                    << display_text();
      return "";
    }
    return m.size() > 1 ? m[1].str() : m[0].str();
  }
  std::size_t outcomes_seen_ = 0;

  void expect_allocations(const std::vector<std::string>& states) {
    std::vector<std::string> got;
    for (const auto& a : allocations()) got.push_back(a.kind + " " + a.state);
    EXPECT_EQ(got, states);
  }

  // The start most cases share: one customer (Alice, of age) asked for at the DTD, the retailer card
  // out, `image` inserted as the first customer card. Returns the card; nullptr when it did not get
  // that far (the test has failed then).
  cardperso::testing::CardSimProcess* alice_inserts(const std::string& image, int new_cards,
                                                    std::vector<std::string> card_args = {}) {
    if (!start_personalisation({"--customer", customer_file("Alice Example", "1990-02-28")}, keypad_for(new_cards))) {
      ADD_FAILURE() << "the personalisation did not start";
      return nullptr;
    }
    remove_retailer_card();
    return insert_customer_card(image, 1, std::move(card_args));
  }

  // A card the script did not leave personalised, after its one attempt: the DTD logged the failure
  // (`dtd_detail` follows "failed: "), the row is `state`, failed at a step starting `step_prefix` for
  // a reason containing `reason`; no record, no receipt, the numbers as `allocation_states`.
  void expect_attempt_failed(const std::string& iccid, const std::string& dtd_detail, const std::string& state,
                             const std::string& step_prefix, const std::string& reason,
                             const std::vector<std::string>& allocation_states) {
    expect_dtd_log("card " + iccid + " failed: " + dtd_detail);
    const CardRow row = card_row(iccid);
    EXPECT_EQ(row.state, state);
    EXPECT_EQ(row.attempts, 1);
    EXPECT_EQ(row.failed_step.rfind(step_prefix, 0), 0u) << row.failed_step;
    EXPECT_NE(row.failure_reason.find(reason), std::string::npos) << row.failure_reason;
    EXPECT_TRUE(records(iccid).empty());
    expect_allocations(allocation_states);
    EXPECT_EQ(receipt_count(), 0u);
    expect_no_number_lost();
  }

  // Reads the card back through PC/SC with the customer's PIN and a RUN GSM ALGORITHM on a fresh
  // RAND: the record's values, and an answer that is Milenage-GSM with the Ki/OPc the ADS sealed for
  // record `version`. The document goes to `doc`; use under ASSERT_NO_FATAL_FAILURE.
  void expect_reads_back_as(cardperso::testing::CardSimProcess* card, const std::string& iccid, const RecordRow& rec,
                            int version, json& doc) {
    reinsert(card);
    const Bytes rand = crypto::random_bytes(16);
    auto read = simread({"--run-gsm", upper_hex(rand)}, kCustomerPin);
    ASSERT_EQ(read.exit_code, 0) << read.err;
    doc = read.doc;
    EXPECT_EQ(doc.value("iccid", ""), iccid);
    EXPECT_EQ(doc.value("imsi", ""), rec.imsi);
    EXPECT_EQ(doc.value("msisdn", ""), rec.msisdn);
    EXPECT_EQ(doc.value("spn", ""), rec.spn);
    const KeysFromStore keys = keys_of(iccid, version);
    ASSERT_EQ(keys.ki.size(), 16u);
    const auto triplet = milenage::gsm(keys.ki.view(), keys.opc.view(), rand);
    EXPECT_EQ(doc.value("sres", ""), upper_hex(triplet.sres));
    EXPECT_EQ(doc.value("kc", ""), upper_hex(triplet.kc));
  }

  // The session of the refused-card cases: Alice with `image` inserted, refused by the ADS; the STE's
  // reason goes to `reason`. Use under ASSERT_NO_FATAL_FAILURE.
  void alice_card_refused(const std::string& image, std::string& reason) {
    auto* card = alice_inserts(image, 0);
    ASSERT_NE(card, nullptr);
    reason = card_outcome(card, "Card refused: (.*)$");
    expect_session_completed();
  }

  // A refused card left as it was: the STE read it, but only its ICCID; its image is still `before`;
  // no number allocated, no receipt, none lost.
  void expect_refused_card_untouched(const std::string& image, const std::string& before) {
    const auto apdus = apdus_of(1);
    EXPECT_FALSE(apdus.empty()) << "the STE did not read the card";
    EXPECT_TRUE(only_iccid_read(apdus)) << "the card got more than the ICCID read";
    EXPECT_EQ(image_text(image), before);
    EXPECT_EQ(count("SELECT count(*) FROM number_allocations"), 0);
    EXPECT_EQ(receipt_count(), 0u);
    expect_no_number_lost();
  }

  // VERIFY ADM1 with `code` through PC/SC: the card must answer `sw`. Use under ASSERT_NO_FATAL_FAILURE.
  void expect_adm_answer(const SecretBytes& code, const std::string& sw, const std::string& why = "") {
    auto adm = simread({"--verify-adm-hex", upper_hex(code.view())});
    ASSERT_EQ(adm.exit_code, 0) << adm.err;
    EXPECT_EQ(adm.doc.value("adm_verify_sw", ""), sw) << why;
  }
};

// a. A blank virtual SIM becomes a subscriber card, and reads back as the ADS recorded it.
TEST_F(Personalisation, HappyPathMakesASubscriberCardThatReadsBackAsRecorded) {
  const std::string iccid = standard_stock(1).at(0);
  const std::string image = card_image("cards", iccid);
  ASSERT_EQ(adm_tries(image), 3);
  auto* card = alice_inserts(image, 1);
  ASSERT_NE(card, nullptr);
  const std::string msisdn = card_outcome(card, "Card personalised: MSISDN (\\d+)$");
  ASSERT_FALSE(msisdn.empty());
  expect_session_completed();

  expect_display_in_order({"Signed on: retailer " + std::string(kSerial), "Session keys established",
                           "Remove retailer card", "Insert customer card", "Customer: enter new PIN",
                           "Customer: enter new PIN again", "Customer: enter PUK", "Personalising card",
                           "Card personalised: MSISDN " + msisdn, "Remove customer card", "Session ended"});
  expect_dtd_log("decision: go");
  expect_dtd_log("card " + iccid + " personalised: msisdn " + msisdn);
  expect_dtd_log("receipt written: " + receipt_dir_ + "/receipt-" + iccid + ".txt");
  const std::string receipt = receipt_of(iccid);
  EXPECT_NE(receipt.find("Iccid: " + iccid), std::string::npos) << receipt;
  EXPECT_NE(receipt.find("Msisdn: " + msisdn), std::string::npos) << receipt;
  EXPECT_NE(receipt.find("Outcome: personalised"), std::string::npos) << receipt;
  EXPECT_NE(receipt.find("Record version: 1"), std::string::npos) << receipt;

  // The card got the script once: VERIFY ADM1 first, one RUN GSM ALGORITHM, 44 APDUs in all.
  const auto script = script_apdus(apdus_of(1));
  EXPECT_EQ(script.size(), kScriptApdus);
  EXPECT_EQ(std::count_if(script.begin(), script.end(), [](auto& a) { return a.command[1] == 0x88; }), 1);

  // The database.
  const CardRow row = card_row(iccid);
  EXPECT_EQ(row.state, "personalised");
  EXPECT_EQ(row.attempts, 1);
  EXPECT_TRUE(row.has_issuer_code);
  const auto recs = records(iccid);
  ASSERT_EQ(recs.size(), 1u);
  const RecordRow& rec = recs[0];
  EXPECT_EQ(rec.version, 1);
  EXPECT_EQ(rec.msisdn, msisdn);
  EXPECT_EQ(rec.retailer_serial, kSerial);
  ASSERT_TRUE(rec.session_id.has_value());
  expect_allocations({"imsi committed", "msisdn committed"});
  EXPECT_EQ(count("SELECT count(*) FROM decisions WHERE go = 1 AND retailer_serial = ?1", {kSerial}), 1);
  expect_no_number_lost();
  EXPECT_TRUE(wait_no_open_session(10s));

  // Read it back through PC/SC with the customer's PIN. RUN GSM ALGORITHM = Milenage-GSM with the
  // Ki/OPc the ADS holds (sealed), which are also the card's.
  json doc;
  ASSERT_NO_FATAL_FAILURE(expect_reads_back_as(card, iccid, rec, 1, doc));
  auto plmns = perso::decode_plmnsel(from_hex(rec.plmnsel).value_or(Bytes{}));
  ASSERT_TRUE(plmns.ok()) << "record plmnsel " << rec.plmnsel;
  std::vector<std::string> plmn_texts;
  for (const auto& p : *plmns) plmn_texts.push_back(perso::to_string(p));
  ASSERT_FALSE(plmn_texts.empty());
  EXPECT_EQ(doc.at("plmnsel").get<std::vector<std::string>>(), plmn_texts);
  EXPECT_EQ(doc.at("sst").get<std::vector<int>>(), kDefaultSst);
  EXPECT_EQ(doc.value("acc", ""), upper_hex(perso::encode_acc_from_imsi(rec.imsi).value()));
  EXPECT_EQ(doc.value("ad", ""), "00000002");  // normal operation, MNC length 2
  EXPECT_EQ(doc.value("chv1_tries_left", -1), 3);

  const KeysFromStore keys = keys_of(iccid, 1);
  const Bytes store_ki(keys.ki.view().begin(), keys.ki.view().end());
  const Bytes store_opc(keys.opc.view().begin(), keys.opc.view().end());
  // Compared as booleans: a failure message must not print the keys.
  EXPECT_TRUE(file_data(image, "3F00/7F20/FF02") == store_ki) << "the card's Ki is not the one the ADS sealed";
  EXPECT_TRUE(file_data(image, "3F00/7F20/FF01") == store_opc) << "the card's OPc is not the one the ADS sealed";

  // The master code no longer opens the card (one try spent), the issuer code does.
  const SecretBytes master = master_code(file("batch.secret"), iccid);
  ASSERT_NO_FATAL_FAILURE(expect_adm_answer(master, "9804"));
  EXPECT_EQ(adm_tries(image), 2);
  const SecretBytes issuer = opening_code(iccid, true);
  ASSERT_EQ(issuer.size(), 8u);
  EXPECT_FALSE(crypto::ct_equal(issuer.view(), master.view()));
  ASSERT_NO_FATAL_FAILURE(expect_adm_answer(issuer, "9000"));
  EXPECT_EQ(adm_tries(image), 3);

  // The PIN typed on the keypad is the card's; a wrong one counts down.
  auto wrong = simread({}, "0000");
  EXPECT_EQ(wrong.exit_code, 2);
  EXPECT_NE(wrong.err.find("wrong PIN: 2 tries left"), std::string::npos) << wrong.err;
  auto right = simread({}, kCustomerPin);
  ASSERT_EQ(right.exit_code, 0) << right.err;
  EXPECT_EQ(right.doc.value("chv1_tries_left", -1), 3);

  // No PIN, PUK, key or code in any log, output or receipt.
  expect_absent_everywhere({{"customer PIN", kCustomerPin},
                            {"customer PUK", kCustomerPuk},
                            {"Ki", upper_hex(keys.ki.view())},
                            {"OPc", upper_hex(keys.opc.view())},
                            {"issuer code", upper_hex(issuer.view())},
                            {"master code", upper_hex(master.view())}});
}

// b. Refused by policy: no card swap is asked for, no number allocated, the decision recorded; the
// session goes on with the next customer, who gets the first numbers of the pools.
TEST_F(Personalisation, UnderAgeCustomerIsRefusedAndNoCardIsTouched) {
  const auto iccids = standard_stock(2);
  const std::string image = card_image("cards", iccids[0]);
  const std::string before = image_text(card_image("cards", iccids[1]));
  ASSERT_TRUE(start_personalisation({"--customer", customer_file("Kid Example", "2019-05-01"), "--customer",
                                     customer_file("Alice Example", "1990-02-28")},
                                    keypad_for(1)));
  // The no-go goes to the DTD only (the ADS sends C2 to the STE on a go): the STE asks for no card.
  ASSERT_TRUE(wait_for_log(dtd_log_, std::regex("decision: no-go: customer is under 18"), 30s)) << dtd_log();
  expect_dtd_log("card refused: customer is under 18");
  // The refusal is recorded before any card is asked for or touched.
  EXPECT_EQ(count("SELECT count(*) FROM decisions WHERE go = 0 AND reasons LIKE '%under 18%'"), 1);
  // (Numbers are reserved only when a card is in the reader, and no card is in yet.)
  EXPECT_EQ(count("SELECT count(*) FROM number_allocations"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM cards WHERE state <> 'blank' OR attempts <> 0"), 0);

  remove_retailer_card();
  auto* card = insert_customer_card(image, 1);
  ASSERT_NE(card, nullptr);
  const std::string msisdn = card_outcome(card, "Card personalised: MSISDN (\\d+)$");
  expect_session_completed();

  expect_display_in_order({"Session keys established", "Remove retailer card", "Insert customer card",
                           "Card personalised: MSISDN " + msisdn});
  EXPECT_EQ(display_count("Remove retailer card"), 1u) << display_text();
  EXPECT_EQ(display_count("Insert customer card"), 1u) << display_text();
  // The first decision is the refusal, the second the go that got the card.
  const auto decisions = query("SELECT go FROM decisions ORDER BY id");
  ASSERT_EQ(decisions.size(), 2u);
  EXPECT_EQ(decisions[0][0], "0");
  EXPECT_EQ(decisions[1][0], "1");
  const auto recs = records(iccids[0]);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].imsi, "001010000000001");  // the refused customer used up no number
  EXPECT_EQ(recs[0].msisdn, "41790000001");
  EXPECT_EQ(card_row(iccids[1]).state, "blank");
  EXPECT_EQ(card_row(iccids[1]).attempts, 0);
  EXPECT_EQ(image_text(card_image("cards", iccids[1])), before);
  EXPECT_EQ(receipt_count(), 1u);
  expect_no_number_lost();
}

// c. A card from a batch the ADS never imported: refused after its ICCID was read, nothing written.
TEST_F(Personalisation, UnknownIccidIsRefusedAndTheCardIsUntouched) {
  standard_stock(1);
  const std::string stranger = make_blank_cards(file("unknown.secret"), "unknown", "8988219", 1, 1).at(0);
  const std::string image = card_image("unknown", stranger);
  const std::string before = image_text(image);
  std::string reason;
  ASSERT_NO_FATAL_FAILURE(alice_card_refused(image, reason));

  EXPECT_NE(reason.find(stranger), std::string::npos) << reason;
  EXPECT_NE(reason.find("not in any imported batch"), std::string::npos) << reason;
  expect_dtd_log("card refused: card " + stranger + " is not in any imported batch");
  EXPECT_FALSE(displayed("Personalising card")) << display_text();
  EXPECT_FALSE(displayed("Customer: enter new PIN")) << display_text();
  EXPECT_EQ(count("SELECT count(*) FROM cards WHERE iccid = ?1", {stranger}), 0);
  EXPECT_EQ(count("SELECT count(*) FROM decisions WHERE go = 1"), 1);
  expect_refused_card_untouched(image, before);
}

// d. A card of another retailer's stock is refused and left as it was.
TEST_F(Personalisation, AnotherRetailersCardIsRefusedAndUntouched) {
  standard_stock(1);
  enrol(kOtherSerial);
  const std::string theirs = make_blank_cards(file("other.secret"), "other", "8988212", 1, 1).at(0);
  import_batch("shop-2", file("other.secret"), "8988212", 1, 1, kOtherSerial);
  const std::string image = card_image("other", theirs);
  const std::string before = image_text(image);
  std::string reason;
  ASSERT_NO_FATAL_FAILURE(alice_card_refused(image, reason));

  EXPECT_NE(reason.find("not in this retailer's stock"), std::string::npos) << reason;
  EXPECT_EQ(reason.find(kOtherSerial), std::string::npos) << "the refusal names the other retailer: " << reason;
  expect_dtd_log("card refused: card " + theirs + " is not in this retailer's stock");
  const CardRow row = card_row(theirs);
  EXPECT_EQ(row.state, "blank");
  EXPECT_EQ(row.attempts, 0);
  expect_refused_card_untouched(image, before);
}

// e. The card was made with another batch secret than the one imported: it refuses the master code
// at step 1, exactly one ADM1 try is spent, the card is spoiled and its numbers go back.
TEST_F(Personalisation, WrongBatchSecretCostsOneAdmTryAndSpoilsTheCard) {
  const std::string iccid = standard_stock(1).at(0);
  // Same ICCID, another secret for the master code: the card's ADM1 is not the one the ADS derives. The
  // maker wrote the right card key, so the card proves itself and the fault shows at its VERIFY (a
  // card with the wrong card key too is refused before any code: attack.CardProof).
  ASSERT_EQ(make_blank_cards(file("forged.secret"), "forged", kIccidPrefix, 1, 1).at(0), iccid);
  const std::string image = card_image("forged", iccid);
  {
    auto forged = load(image);
    const auto stock = load(card_image("cards", iccid));
    auto key_of = [](auto& img) { return std::find_if(img.files.begin(), img.files.end(), [](auto& f) { return f.path == "3F00/000C"; }); };
    ASSERT_NE(key_of(forged), forged.files.end());
    key_of(forged)->data = key_of(stock)->data;
    ASSERT_TRUE(cardsim::save_image(image, forged));
  }
  ASSERT_EQ(adm_tries(image), 3);
  auto* card = alice_inserts(image, 1);
  ASSERT_NE(card, nullptr);
  const std::string reason = card_outcome(card, "Personalisation failed: (.*)$");
  expect_session_completed();

  EXPECT_NE(reason.find("step 1 "), std::string::npos) << reason;
  EXPECT_NE(reason.find("9804"), std::string::npos) << reason;
  EXPECT_EQ(adm_tries(image), 2) << "the master code must be tried exactly once";
  const auto script = script_apdus(apdus_of(1));
  ASSERT_EQ(script.size(), 1u) << "nothing may follow the refused VERIFY ADM1";
  EXPECT_EQ(upper_hex(ByteView(script[0].response).last(2)), "9804");
  expect_attempt_failed(iccid, "", "spoiled", "1/", "9804", {"imsi released", "msisdn released"});
}

// f. A personalised card cannot be personalised again (refused after the ICCID read), but it can be
// modified: a new SPN makes record version 2 and reads back from the card.
TEST_F(Personalisation, PersonalisedCardIsRefusedAgainButCanBeModified) {
  const std::string iccid = standard_stock(1).at(0);
  const std::string image = card_image("cards", iccid);
  ASSERT_TRUE(start_personalisation({"--customer", customer_file("Alice Example", "1990-02-28"), "--customer",
                                     customer_file("Bob Example", "1985-12-01"), "--modify",
                                     modify_file(iccid, {{"spn", "Shop Net"}})},
                                    keypad_for(1, 1)));
  remove_retailer_card();
  auto* card = insert_customer_card(image, 1);
  ASSERT_NE(card, nullptr);
  const std::string msisdn = card_outcome(card, "Card personalised: MSISDN (\\d+)$");
  ASSERT_FALSE(msisdn.empty());
  ASSERT_TRUE(wait_display_count("Insert customer card", 2, 30s)) << display_text();
  const std::string personalised = image_text(image);
  reinsert(card);
  const std::string reason = card_outcome(card, "Card refused: (.*)$");
  EXPECT_NE(reason.find("already personalised"), std::string::npos) << reason;
  EXPECT_FALSE(apdus_of(2).empty()) << "the STE did not read the re-inserted card";
  EXPECT_TRUE(only_iccid_read(apdus_of(2))) << "the second personalisation sent more than the ICCID read";
  EXPECT_EQ(image_text(image), personalised);

  ASSERT_TRUE(wait_display_count("Insert customer card", 3, 30s)) << display_text();
  reinsert(card);
  card_outcome(card, "(Card updated)$");
  expect_session_completed();

  expect_display_in_order({"Card personalised: MSISDN " + msisdn, "Card refused: " + reason, "Insert customer card",
                           "Customer: enter new PIN", "Updating card", "Card updated", "Session ended"});
  expect_dtd_log("card " + iccid + " updated");
  const std::string receipt = receipt_of(iccid);
  EXPECT_NE(receipt.find("Outcome: modified"), std::string::npos) << receipt;
  EXPECT_NE(receipt.find("Record version: 2"), std::string::npos) << receipt;
  EXPECT_NE(receipt.find("Msisdn: " + msisdn), std::string::npos) << receipt;

  const auto recs = records(iccid);
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].spn, "cardperso");
  EXPECT_EQ(recs[1].version, 2);
  EXPECT_EQ(recs[1].spn, "Shop Net");
  EXPECT_EQ(recs[1].imsi, recs[0].imsi);
  EXPECT_EQ(recs[1].msisdn, recs[0].msisdn);
  const CardRow row = card_row(iccid);
  EXPECT_EQ(row.state, "personalised");
  EXPECT_EQ(row.attempts, 1);
  EXPECT_EQ(count("SELECT count(*) FROM decisions WHERE go = 1"), 3);
  expect_allocations({"imsi committed", "msisdn committed"});
  expect_no_number_lost();

  // The keys of version 2 are re-sealed from version 1: the card's keys did not change.
  json doc;
  ASSERT_NO_FATAL_FAILURE(expect_reads_back_as(card, iccid, recs[1], 2, doc));
  EXPECT_EQ(doc.value("spn", ""), "Shop Net");
}

// g. The card is pulled while the script runs: recorded failed at the step reached, numbers kept for it.
TEST_F(Personalisation, CardPulledMidScriptIsRecordedFailedAtTheStepReached) {
  const std::string iccid = standard_stock(1).at(0);
  const std::string image = card_image("cards", iccid);
  // Every answer held 150 ms: the pull lands while the card holds a command of the script.
  auto* card = alice_inserts(image, 1, {"--apdu-delay-ms", "150"});
  ASSERT_NE(card, nullptr);
  ASSERT_TRUE(wait_display("Personalising card$", 60s)) << display_text();
  constexpr std::size_t kPullAt = 12;
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (script_apdus(apdus_of(1)).size() < kPullAt && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(5ms);
  pull(card);
  const std::string reason = card_outcome(card, "Personalisation failed: (.*)$");
  expect_session_completed();

  // The step reached: the last command the card got, or the one after it if the card had answered.
  const auto script = script_apdus(apdus_of(1));
  ASSERT_GE(script.size(), kPullAt);
  const std::size_t step = script.back().response.empty() ? script.size() : script.size() + 1;
  EXPECT_NE(reason.find("step " + std::to_string(step) + " "), std::string::npos) << reason;
  EXPECT_NE(reason.find("removed"), std::string::npos) << reason;
  // The numbers stay reserved: the card may carry them, they are kept for its retry.
  expect_attempt_failed(iccid, "step " + std::to_string(step) + " ", "failed", std::to_string(step) + "/43 ", "removed",
                        {"imsi reserved", "msisdn reserved"});
}

// g2. The card pulled mid-script (deterministically: card-sim --remove-after-apdus, before the 21st
// APDU of the script, with the issuer code and the first files already on the card), put back for the
// shop's next request: the ADS opens it with the issuer code it knows the card took, every file the
// first run created answers 6A89 and is selected instead, every value is written again, and the card
// is personalised on its second attempt.
TEST_F(Personalisation, CardPulledMidScriptIsPersonalisedOnTheRetry) {
  const std::string iccid = standard_stock(1).at(0);
  const std::string image = card_image("cards", iccid);
  ASSERT_TRUE(start_personalisation({"--customer", customer_file("Alice Example", "1990-02-28"), "--customer",
                                     customer_file("Alice Example", "1990-02-28")},
                                    keypad_for(2)));
  remove_retailer_card();
  // SELECT 3F00, GET RESPONSE, SELECT 2FE2, GET RESPONSE, READ BINARY; CARD PROOF, GET RESPONSE
  constexpr std::size_t kIccidRead = 7;
  constexpr std::size_t kPullAt = 20;    // the card answers 20 APDUs of the script, then it is gone
  auto* card = insert_customer_card(image, 1, {"--remove-after-apdus", std::to_string(kIccidRead + kPullAt)});
  ASSERT_NE(card, nullptr);
  const std::string reason = card_outcome(card, "Personalisation failed: (.*)$");
  EXPECT_NE(reason.find("step " + std::to_string(kPullAt + 1) + " "), std::string::npos) << reason;

  auto answered = [](const std::vector<TappedApdu>& apdus) {
    return static_cast<std::size_t>(std::count_if(apdus.begin(), apdus.end(), [](auto& a) { return !a.response.empty(); }));
  };
  const auto first_all = apdus_of(1);
  const auto first = script_apdus(first_all);
  EXPECT_EQ(answered(first_all) - answered(first), kIccidRead);
  ASSERT_EQ(answered(first), kPullAt);
  const auto created = static_cast<std::size_t>(
      std::count_if(first.begin(), first.end(), [](auto& a) { return a.command[1] == 0xE0 && !a.response.empty(); }));
  EXPECT_EQ(created, 10u);  // the 4 code files, DF_TELECOM and its 4 EFs, DF_GSM
  CardRow row = card_row(iccid);
  EXPECT_EQ(row.state, "failed");
  EXPECT_EQ(row.attempts, 1);
  EXPECT_EQ(row.failed_step.rfind(std::to_string(kPullAt + 1) + "/43 ", 0), 0u) << row.failed_step;
  EXPECT_TRUE(row.has_issuer_code);  // the card took the pending code at step 3: the retry opens with it
  EXPECT_TRUE(records(iccid).empty());

  ASSERT_TRUE(wait_display_count("Insert customer card", 2, 30s)) << display_text();
  reinsert(card);
  const std::string msisdn = card_outcome(card, "Card personalised: MSISDN (\\d+)$");
  ASSERT_FALSE(msisdn.empty());
  expect_session_completed();

  // The retry as the card saw it: VERIFY ADM1 passes (the issuer code), one 6A89 + SELECT per file
  // the first run had created, every other APDU as on a fresh card.
  const auto retry = script_apdus(apdus_of(2));
  ASSERT_FALSE(retry.empty());
  EXPECT_EQ(get_u16(retry[0].response, retry[0].response.size() - 2), 0x9000);
  std::size_t exists = 0;
  for (std::size_t i = 0; i < retry.size(); ++i) {
    const auto& r = retry[i].response;
    if (r.size() < 2 || get_u16(r, r.size() - 2) != 0x6A89) continue;
    ++exists;
    ASSERT_EQ(retry[i].command[1], 0xE0);
    ASSERT_LT(i + 1, retry.size());
    EXPECT_EQ(retry[i + 1].command[1], 0xA4);  // SELECT of the FID the CREATE named
    const auto fid = perso::created_fid(retry[i].command);  // FCP tag 83
    ASSERT_TRUE(fid.has_value());
    EXPECT_EQ(to_hex(retry[i + 1].command), to_hex(perso::select_fid_apdu(0xA0, *fid)));
    EXPECT_EQ(get_u16(retry[i + 1].response, retry[i + 1].response.size() - 2) >> 8, 0x9F);
  }
  EXPECT_EQ(exists, created);
  EXPECT_EQ(retry.size(), kScriptApdus + created);

  row = card_row(iccid);
  EXPECT_EQ(row.state, "personalised");
  EXPECT_EQ(row.attempts, 2);
  const auto recs = records(iccid);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].msisdn, msisdn);
  EXPECT_NE(receipt_of(iccid).find("Outcome: personalised"), std::string::npos);
  expect_allocations({"imsi committed", "msisdn committed"});  // the first attempt's numbers, kept for the card
  expect_no_number_lost();
  EXPECT_TRUE(wait_no_open_session(10s));

  // Read back through PC/SC with the PIN typed for the retry: the values and keys of the record.
  json doc;
  ASSERT_NO_FATAL_FAILURE(expect_reads_back_as(card, iccid, recs[0], 1, doc));
  EXPECT_EQ(doc.value("chv1_tries_left", -1), 3);
  // The issuer code the ADS recorded opens the card.
  expect_adm_answer(opening_code(iccid, true), "9000");
}

// h. The card's proof is wrong (its RUN GSM answer altered on the contacts, as a clone would answer):
// the ADS does not mark it personalised, records the failure and keeps the numbers for the card (the
// test name predates that: the card carries them). The card did
// take its new issuer code, and the ADS knows it: a retry would open the card.
TEST_F(Personalisation, ProofMismatchIsRecordedFailedAndReleasesTheNumbers) {
  const std::string iccid = standard_stock(1).at(0);
  const std::string image = card_image("cards", iccid);
  tap_->corrupt_gsm_answer();
  auto* card = alice_inserts(image, 1);
  ASSERT_NE(card, nullptr);
  const std::string reason = card_outcome(card, "Personalisation failed: (.*)$");
  expect_session_completed();

  EXPECT_EQ(tap_->corrupted_count(), 1);
  EXPECT_NE(reason.find("proof mismatch"), std::string::npos) << reason;
  EXPECT_EQ(display_text().find("Card personalised"), std::string::npos) << display_text();
  // The numbers stay reserved: the card may carry them, they are kept for its retry.
  expect_attempt_failed(iccid, "proof mismatch", "failed", "43/43 ", "proof mismatch", {"imsi reserved", "msisdn reserved"});
  EXPECT_TRUE(card_row(iccid).has_issuer_code);

  reinsert(card);
  const SecretBytes code = opening_code(iccid, false);
  ASSERT_EQ(code.size(), 8u);
  expect_adm_answer(code, "9000", "the code the ADS kept does not open the card");
}

// i. Two cards in one session over one link: both personalised, distinct numbers.
TEST_F(Personalisation, TwoCardsInOneSessionGetDistinctNumbers) {
  const auto iccids = standard_stock(2);
  ASSERT_TRUE(start_personalisation({"--customer", customer_file("Alice Example", "1990-02-28"), "--customer",
                                     customer_file("Bob Example", "1985-12-01")},
                                    keypad_for(2)));
  remove_retailer_card();
  auto* first = insert_customer_card(card_image("cards", iccids[0]), 1);
  ASSERT_NE(first, nullptr);
  const std::string msisdn1 = card_outcome(first, "Card personalised: MSISDN (\\d+)$");
  auto* second = insert_customer_card(card_image("cards", iccids[1]), 2);
  ASSERT_NE(second, nullptr);
  const std::string msisdn2 = card_outcome(second, "Card personalised: MSISDN (\\d+)$");
  expect_session_completed();

  EXPECT_EQ(display_count("Session keys established"), 1u) << display_text();
  EXPECT_EQ(ste_runs_.size(), 1u);
  const auto a = records(iccids[0]);
  const auto b = records(iccids[1]);
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(a[0].msisdn, msisdn1);
  EXPECT_EQ(b[0].msisdn, msisdn2);
  EXPECT_NE(a[0].imsi, b[0].imsi);
  EXPECT_NE(a[0].msisdn, b[0].msisdn);
  EXPECT_EQ(a[0].session_id, b[0].session_id) << "both cards belong to one session";
  EXPECT_EQ(sessions().size(), 1u);
  for (const auto& iccid : iccids) {
    EXPECT_EQ(card_row(iccid).state, "personalised");
    EXPECT_NE(receipt_of(iccid).find("Outcome: personalised"), std::string::npos);
  }
  expect_allocations({"imsi committed", "imsi committed", "msisdn committed", "msisdn committed"});
  expect_no_number_lost();
}

}  // namespace
