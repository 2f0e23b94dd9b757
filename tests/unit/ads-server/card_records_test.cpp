#include "cardperso/ads/store/card_records.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "stock_fixture.hpp"

namespace cardperso::ads {
namespace {

using test::kRetailerA;
using test::kRetailerB;
using test::must;

class CardRecordsTest : public test::StockTest {
 protected:
  void SetUp() override {
    StockTest::SetUp();
    iccids = secret_batch_for_a(3);
    add_pools();
  }
  std::int64_t count(const std::string& table) { return test::raw_int(db_path, "SELECT count(*) FROM " + table); }

  std::vector<std::string> iccids;
};

TEST_F(CardRecordsTest, PersonalisationCommitsEverythingInOneTransaction) {
  auto rec = begun(iccids[0]);
  must(records->record_personalisation(rec));
  EXPECT_EQ(state_of(iccids[0]), CardState::Personalised);
  auto numbers = must(pools->numbers_of(iccids[0]));
  ASSERT_EQ(numbers.size(), 2u);
  for (const auto& n : numbers) EXPECT_EQ(n.state, NumberState::Committed);
  auto history = must(records->history(iccids[0]));
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0].version, 1);
  EXPECT_EQ(history[0].imsi, "001010000000001");
  EXPECT_EQ(history[0].msisdn, "44770090001");
  EXPECT_EQ(history[0].retailer_serial, kRetailerA);
  EXPECT_EQ(history[0].session_id.value_or(0), 42);
  auto files = nlohmann::json::parse(history[0].files_json);
  ASSERT_EQ(files.size(), 5u);
  EXPECT_EQ(files[0]["value"], "080910100000000010");
  EXPECT_EQ(files[1]["secret"], "ki");
  EXPECT_EQ(files[4]["secret"], "customer_code");
  EXPECT_FALSE(files[1].contains("value"));
  auto keys = must(records->keys_of(iccids[0], 1));
  EXPECT_EQ(to_hex(keys.ki.view()), "465b5ce8b199b49faa5f0a2ee238a6bc");
  EXPECT_EQ(must(records->personal_data(history[0].subscriber_id)), rec.personal_data_json);
  // Ki, OPc, the issuer code and the personal data are nowhere in the database in clear.
  const Bytes file = test::database_contents(db_path);
  EXPECT_FALSE(test::contains(file, hex("465b5ce8b199b49faa5f0a2ee238a6bc")));
  EXPECT_FALSE(test::contains(file, hex("cd63cb71954a9f4e48a5994e37a02baf")));
  EXPECT_FALSE(test::contains(file, hex("a1a2a3a4a5a6a7a8")));
  EXPECT_FALSE(test::contains(file, view(std::string("Lovelace"))));
  EXPECT_TRUE(must(audit->verify()).intact());
}

TEST_F(CardRecordsTest, AFailureMidWayCommitsNothing) {
  auto rec = begun(iccids[0]);
  const auto audit_before = count("audit_log");
  // The last insert of the transaction fails: the card update, the number commits and the subscriber
  // written before it must all roll back.
  ASSERT_EQ(test::raw_exec(db_path, "CREATE TRIGGER injected BEFORE INSERT ON card_records "
                                    "BEGIN SELECT RAISE(ABORT, 'injected failure'); END;"),
            "");
  auto r = records->record_personalisation(rec);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("injected failure"), std::string::npos);
  EXPECT_EQ(state_of(iccids[0]), CardState::InProgress);
  for (const auto& n : must(pools->numbers_of(iccids[0]))) EXPECT_EQ(n.state, NumberState::Reserved);
  EXPECT_EQ(count("subscribers"), 0);
  EXPECT_EQ(count("card_records"), 0);
  EXPECT_EQ(count("audit_log"), audit_before);
  // The session then fails the card: the card carries its numbers, so they stay reserved for its retry.
  ASSERT_EQ(test::raw_exec(db_path, "DROP TRIGGER injected"), "");
  EXPECT_EQ(must(stock->mark_failed(iccids[0], {"commit", "database refused the record", false, {}})),
            CardState::Failed);
  EXPECT_EQ(test::raw_int(db_path, "SELECT count(*) FROM number_allocations WHERE state = 'reserved' AND iccid = '" +
                                       iccids[0] + "'"),
            2);
}

TEST_F(CardRecordsTest, AuditFailureAlsoRollsBack) {
  auto rec = begun(iccids[0]);
  ASSERT_EQ(test::raw_exec(db_path, "CREATE TRIGGER injected BEFORE INSERT ON audit_log "
                                    "BEGIN SELECT RAISE(ABORT, 'injected failure'); END;"),
            "");
  ASSERT_FALSE(records->record_personalisation(rec).ok());
  EXPECT_EQ(count("card_records"), 0);
  EXPECT_EQ(state_of(iccids[0]), CardState::InProgress);
}

TEST_F(CardRecordsTest, RecordsAreRefusedForTheWrongCardStateNumbersOrRetailer) {
  auto rec = begun(iccids[0]);
  auto wrong_retailer = rec;
  wrong_retailer.retailer_serial = kRetailerB;
  EXPECT_EQ(records->record_personalisation(wrong_retailer).error().message,
            "card " + iccids[0] + " is not in retailer " + kRetailerB + "'s stock");
  auto wrong_number = rec;
  wrong_number.content.msisdn = "44770099999";
  EXPECT_NE(records->record_personalisation(wrong_number).error().message.find("is not reserved for card"),
            std::string::npos);
  auto secret_in_clear = rec;
  secret_in_clear.content.files.push_back({"3F00/7F20/FF02", FileValue::Ki, "465b5ce8b199b49faa5f0a2ee238a6bc"});
  EXPECT_EQ(records->record_personalisation(secret_in_clear).error().message,
            "card record: 3F00/7F20/FF02 holds a secret (ki); its value is never recorded in clear");
  auto blank = begun(iccids[1]);
  must(stock->mark_failed(iccids[1], {"2/17", "card removed", false, {}}));
  EXPECT_NE(records->record_personalisation(blank).error().message.find("is failed"), std::string::npos);
  EXPECT_EQ(count("card_records"), 0);
  must(records->record_personalisation(rec));
  // A second personalisation of the same card is refused.
  EXPECT_FALSE(records->record_personalisation(rec).ok());
}

TEST_F(CardRecordsTest, ModificationsAreNewVersions) {
  auto rec = begun(iccids[0]);
  must(records->record_personalisation(rec));
  const std::string old_msisdn = rec.content.msisdn;

  // Version 2: a new MSISDN and SPN; Ki/OPc, subscriber and issuer code unchanged.
  EXPECT_EQ(must(stock->begin_personalisation(iccids[0], CardPurpose::Modification)), 1);
  std::string new_msisdn = must(db->with_transaction([&] { return pools->allocate(NumberKind::Msisdn, iccids[0]); }));
  ModificationRecord mod = modification_of(rec);
  mod.content.msisdn = new_msisdn;
  mod.content.spn = "renamed";
  EXPECT_EQ(must(records->record_modification(mod)), 2);
  EXPECT_EQ(state_of(iccids[0]), CardState::Personalised);
  auto history = must(records->history(iccids[0]));
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0].msisdn, old_msisdn);  // version 1 unchanged
  EXPECT_EQ(history[1].msisdn, new_msisdn);
  EXPECT_EQ(history[1].spn, "renamed");
  EXPECT_EQ(history[1].subscriber_id, history[0].subscriber_id);
  EXPECT_EQ(to_hex(must(records->keys_of(iccids[0], 2)).opc.view()), "cd63cb71954a9f4e48a5994e37a02baf");
  EXPECT_EQ(to_hex(must(stock->lookup_card_for(kRetailerA, iccids[0], CardPurpose::Modification)).code.view()),
            "a1a2a3a4a5a6a7a8");
  // The old MSISDN went back to the pool and is the next one handed out.
  EXPECT_EQ(must(db->with_transaction([&] { return pools->allocate(NumberKind::Msisdn, iccids[1]); })), old_msisdn);

  // Version 3: a new issuer code and new personal data.
  must(stock->begin_personalisation(iccids[0], CardPurpose::Modification));
  mod.content.msisdn = new_msisdn;
  mod.issuer_code = SecretBytes(hex("b1b2b3b4b5b6b7b8"));
  mod.personal_data_json = R"({"name":"Ada King"})";
  EXPECT_EQ(must(records->record_modification(mod)), 3);
  history = must(records->history(iccids[0]));
  ASSERT_EQ(history.size(), 3u);
  EXPECT_NE(history[2].subscriber_id, history[0].subscriber_id);
  EXPECT_EQ(to_hex(must(stock->lookup_card_for(kRetailerA, iccids[0], CardPurpose::Modification)).code.view()),
            "b1b2b3b4b5b6b7b8");

  // A failed modification leaves the card personalised with its last record.
  must(stock->begin_personalisation(iccids[0], CardPurpose::Modification));
  EXPECT_EQ(must(stock->mark_failed(iccids[0], {"4/6", "card removed", false, {}})), CardState::Personalised);
  EXPECT_EQ(must(records->history(iccids[0])).size(), 3u);
  // Versions are history: the database refuses to change them.
  EXPECT_NE(test::raw_exec(db_path, "UPDATE card_records SET msisdn = '1' WHERE version = 1"), "");
  EXPECT_NE(test::raw_exec(db_path, "DELETE FROM card_records"), "");
}

TEST_F(CardRecordsTest, SealedRecordColumnsRefuseTampering) {
  must(records->record_personalisation(begun(iccids[0])));
  must(records->record_personalisation(begun(iccids[1])));
  // Ki of one card copied onto another does not open.
  const Bytes ki = test::raw_blob(db_path, "SELECT sealed_ki FROM card_records WHERE iccid = '" + iccids[0] + "'");
  ASSERT_EQ(test::raw_exec(db_path, "DROP TRIGGER card_records_no_update"), "");
  ASSERT_EQ(test::raw_set_blob(db_path, "UPDATE card_records SET sealed_ki = ?1 WHERE iccid = '" + iccids[1] + "'", ki),
            "");
  auto keys = records->keys_of(iccids[1], 1);
  ASSERT_FALSE(keys.ok());
  EXPECT_NE(keys.error().message.find("fails authentication"), std::string::npos);
  // Personal data edited.
  Bytes data = test::raw_blob(db_path, "SELECT sealed_personal_data FROM subscribers WHERE id = 1");
  data.back() ^= 0x80;
  ASSERT_EQ(test::raw_set_blob(db_path, "UPDATE subscribers SET sealed_personal_data = ?1 WHERE id = 1", data), "");
  EXPECT_EQ(records->personal_data(1).error().message,
            "stored personal data of subscriber 1 fails authentication: the database was altered or the master key "
            "is wrong; restore from backup");
  // The issuer code under another master key.
  MasterKey other = MasterKey::from_bytes(hex("00000000000000000000000000000001"));
  CardStock foreign(*db, other, *audit, "tester");
  EXPECT_FALSE(foreign.lookup_card_for(kRetailerA, iccids[0], CardPurpose::Modification).ok());
}

TEST_F(CardRecordsTest, DecisionsAreRecorded) {
  const auto go = must(records->record_decision(kRetailerA, 7, true, {}));
  const auto no = must(records->record_decision(kRetailerA, 7, false, {"customer is under 18", "id number is on the deny list"}));
  EXPECT_NE(go, no);
  auto d = must(records->decision(no));
  ASSERT_TRUE(d);
  EXPECT_FALSE(d->go);
  EXPECT_EQ(d->session_id.value_or(0), 7);
  EXPECT_EQ(d->reasons, (std::vector<std::string>{"customer is under 18", "id number is on the deny list"}));
  EXPECT_TRUE(must(records->decision(go))->go);
  EXPECT_FALSE(must(records->decision(999)).has_value());
}

}  // namespace
}  // namespace cardperso::ads
