#include "cardperso/ads/store/card_stock.hpp"

#include <gtest/gtest.h>

#include "cardperso/ads/store/card_codes.hpp"
#include "stock_fixture.hpp"

namespace cardperso::ads {
namespace {

using test::kBatchSecret;
using test::kRetailerA;
using test::kRetailerB;
using test::must;

class CardStockTest : public test::StockTest {};

TEST_F(CardStockTest, SecretBatchOpensWithTheDerivedMasterCode) {
  const auto iccids = secret_batch_for_a();
  EXPECT_EQ(iccids[0], "8988211000000000011");
  auto opening = must(stock->lookup_card_for(kRetailerA, iccids[0], CardPurpose::NewCard));
  EXPECT_EQ(opening.code_kind, OpeningCode::Master);
  EXPECT_EQ(to_hex(opening.code.view()), "c46919dfc5bcc287");  // docs/cards.md KAT
  // No per-card code is stored for a secret batch.
  EXPECT_EQ(test::raw_int(db_path, "SELECT count(*) FROM cards WHERE sealed_master_code IS NOT NULL"), 0);
  // The secret is sealed, not in clear.
  EXPECT_FALSE(test::contains(test::database_contents(db_path), kBatchSecret));
}

TEST_F(CardStockTest, EveryRefusalIsDistinctAndClear) {
  const auto iccids = secret_batch_for_a();
  must(stock->import_secret_batch("UNASSIGNED", kBatchSecret, "8988212", 1, 1));
  const std::string unassigned = must(batch_iccid("8988212", 1));

  auto refusal = [&](const std::string& retailer, const std::string& iccid, CardPurpose purpose) {
    return must(stock->inspect_card_for(retailer, iccid, purpose));
  };
  auto unknown = refusal(kRetailerA, "8988211999999999990", CardPurpose::NewCard);
  EXPECT_EQ(unknown.refusal, CardRefusal::UnknownIccid);
  EXPECT_EQ(unknown.message,
            "card 8988211999999999990 is not in any imported batch; check the ICCID or import its batch");
  EXPECT_EQ(refusal(kRetailerA, "not-an-iccid", CardPurpose::NewCard).refusal, CardRefusal::UnknownIccid);

  auto other = refusal(kRetailerB, iccids[0], CardPurpose::NewCard);
  EXPECT_EQ(other.refusal, CardRefusal::OtherRetailer);
  EXPECT_EQ(other.message, "card " + iccids[0] + " is not in this retailer's stock");
  EXPECT_TRUE(other.opening.code.empty());  // no code leaks with a refusal

  auto none = refusal(kRetailerA, unassigned, CardPurpose::NewCard);
  EXPECT_EQ(none.refusal, CardRefusal::UnassignedBatch);
  EXPECT_NE(none.message.find("not assigned to any retailer"), std::string::npos);

  auto modify_blank = refusal(kRetailerA, iccids[0], CardPurpose::Modification);
  EXPECT_EQ(modify_blank.refusal, CardRefusal::NotPersonalised);

  // In progress: a second session is refused.
  EXPECT_EQ(must(stock->begin_personalisation(iccids[1], CardPurpose::NewCard)), 1);
  EXPECT_EQ(refusal(kRetailerA, iccids[1], CardPurpose::NewCard).refusal, CardRefusal::InProgress);
  EXPECT_FALSE(stock->begin_personalisation(iccids[1], CardPurpose::NewCard).ok());

  // Personalised: refused unless it is a modification, which opens with the issuer code.
  add_pools();
  auto numbers = must(records->reserve_numbers(iccids[1]));
  PersonalisationRecord rec;
  rec.iccid = iccids[1];
  rec.retailer_serial = kRetailerA;
  rec.content.imsi = numbers.imsi;
  rec.content.msisdn = numbers.msisdn;
  rec.content.ki = SecretBytes(Bytes(16, 0x01));
  rec.content.opc = SecretBytes(Bytes(16, 0x02));
  rec.content.profile = "gsm-basic";
  rec.content.files = {{"3F00/7F20/6F07", FileValue::Clear, "0809101010000000F1"}};
  rec.issuer_code = SecretBytes(hex("0102030405060708"));
  rec.personal_data_json = R"({"name":"A"})";
  must(records->record_personalisation(rec));
  auto again = refusal(kRetailerA, iccids[1], CardPurpose::NewCard);
  EXPECT_EQ(again.refusal, CardRefusal::AlreadyPersonalised);
  EXPECT_EQ(again.message, "card " + iccids[1] + " is already personalised; changing it is a modification");
  auto modify = must(stock->lookup_card_for(kRetailerA, iccids[1], CardPurpose::Modification));
  EXPECT_EQ(modify.code_kind, OpeningCode::Issuer);
  EXPECT_EQ(to_hex(modify.code.view()), "0102030405060708");

  // Spoiled: the card refused its code.
  must(stock->begin_personalisation(iccids[2], CardPurpose::NewCard));
  EXPECT_EQ(must(stock->mark_failed(iccids[2], {"1/9 VERIFY ADM", "card refused the master code", true, {}})),
            CardState::Spoiled);
  auto spoiled = refusal(kRetailerA, iccids[2], CardPurpose::NewCard);
  EXPECT_EQ(spoiled.refusal, CardRefusal::Spoiled);
  EXPECT_EQ(stock->lookup_card_for(kRetailerA, iccids[2], CardPurpose::NewCard).error().message,
            "card " + iccids[2] + " is spoiled; take it out of circulation");
  EXPECT_FALSE(stock->begin_personalisation(iccids[2], CardPurpose::NewCard).ok());  // no retry
}

TEST_F(CardStockTest, ThreeFailedAttemptsSpoilTheCard) {
  const auto iccids = secret_batch_for_a();
  for (int attempt = 1; attempt <= 3; ++attempt) {
    EXPECT_EQ(must(stock->begin_personalisation(iccids[0], CardPurpose::NewCard)), attempt);
    const CardState expected = attempt < 3 ? CardState::Failed : CardState::Spoiled;
    EXPECT_EQ(must(stock->mark_failed(iccids[0], {"5/17 UPDATE BINARY 6F07", "card removed", false, {}})), expected);
  }
  auto card = must(stock->find_card(iccids[0]));
  ASSERT_TRUE(card);
  EXPECT_EQ(card->state, CardState::Spoiled);
  EXPECT_EQ(card->attempts, 3);
  EXPECT_EQ(card->failed_step, "5/17 UPDATE BINARY 6F07");
  EXPECT_EQ(card->failure_reason, "card removed");
}

TEST_F(CardStockTest, ThePendingIssuerCodeIsChosenOnceAndOpensTheRetry) {
  const auto iccids = secret_batch_for_a();
  const SecretBytes master = must(stock->lookup_card_for(kRetailerA, iccids[0], CardPurpose::NewCard)).code;
  EXPECT_FALSE(stock->pending_issuer_code(iccids[0]).ok());  // not in progress
  must(stock->begin_personalisation(iccids[0], CardPurpose::NewCard));
  const SecretBytes pending = must(stock->pending_issuer_code(iccids[0]));
  ASSERT_EQ(pending.size(), 8u);
  EXPECT_EQ(to_hex(must(stock->pending_issuer_code(iccids[0])).view()), to_hex(pending.view()));
  // Past the code update: the retry opens with the pending code alone.
  EXPECT_EQ(must(stock->mark_failed(iccids[0], {"5/17", "card removed", false, CodeOnCard::Pending})), CardState::Failed);
  auto opening = must(stock->lookup_card_for(kRetailerA, iccids[0], CardPurpose::NewCard));
  EXPECT_EQ(opening.code_kind, OpeningCode::Issuer);
  EXPECT_EQ(to_hex(opening.code.view()), to_hex(pending.view()));
  EXPECT_FALSE(opening.has_alternative());
  EXPECT_EQ(opening.state, CardState::Failed);
  // The retry writes the same code.
  must(stock->begin_personalisation(iccids[0], CardPurpose::NewCard));
  EXPECT_EQ(to_hex(must(stock->pending_issuer_code(iccids[0])).view()), to_hex(pending.view()));
  // Not known (server restarted): master code first, the pending one as the alternative.
  restart();
  EXPECT_EQ(must(stock->fail_interrupted()), 1);
  opening = must(stock->lookup_card_for(kRetailerA, iccids[0], CardPurpose::NewCard));
  EXPECT_EQ(opening.code_kind, OpeningCode::Master);
  EXPECT_EQ(to_hex(opening.code.view()), to_hex(master.view()));
  EXPECT_EQ(to_hex(opening.alternative.view()), to_hex(pending.view()));
  // Likelier the pending code: it comes first. The restart was no evidence against the card: this is
  // its second failure that counts, so it may still be tried once more.
  must(stock->begin_personalisation(iccids[0], CardPurpose::NewCard));
  EXPECT_EQ(must(stock->mark_failed(iccids[0], {"17/17", "x", false, CodeOnCard::UnknownPendingFirst})),
            CardState::Failed);
  EXPECT_EQ(must(stock->find_card(iccids[0]))->attempts, 3);
  EXPECT_EQ(must(stock->find_card(iccids[0]))->failures, 2);
  must(stock->begin_personalisation(iccids[0], CardPurpose::NewCard));
  EXPECT_EQ(must(stock->mark_failed(iccids[0], {"17/17", "x", false, CodeOnCard::UnknownPendingFirst})),
            CardState::Spoiled);  // the third failure that counts
  EXPECT_EQ(must(stock->inspect_card_for(kRetailerA, iccids[0], CardPurpose::NewCard)).refusal, CardRefusal::Spoiled);
}

// A broken line is no evidence against a card: failures without the terminal's report never spoil it,
// however many; the attempts are still counted, and the numbers stay with the card.
TEST_F(CardStockTest, FailuresWithoutAReportNeverSpoilTheCard) {
  const auto iccids = secret_batch_for_a(1);
  add_pools();
  for (int i = 0; i < 10; ++i) {
    must(stock->begin_personalisation(iccids[0], CardPurpose::NewCard));
    if (i == 0) (void)must(records->reserve_numbers(iccids[0]));
    EXPECT_EQ(must(stock->mark_failed(iccids[0], {"unknown", "session ended before the script result", false,
                                                  CodeOnCard::Unknown, false, false})),
              CardState::Failed);
  }
  const auto card = must(stock->find_card(iccids[0]));
  EXPECT_EQ(card->attempts, 10);
  EXPECT_EQ(card->failures, 0);
  EXPECT_EQ(must(pools->numbers_of(iccids[0])).size(), 2u);
  // Reports do count: three reported failures spoil it.
  for (int i = 0; i < 3; ++i) {
    must(stock->begin_personalisation(iccids[0], CardPurpose::NewCard));
    EXPECT_EQ(must(stock->mark_failed(iccids[0], {"5/17", "status word 6F00", false, CodeOnCard::Unknown})),
              i < 2 ? CardState::Failed : CardState::Spoiled);
  }
}

TEST_F(CardStockTest, UnknownOrderPendingFirst) {
  const auto iccids = secret_batch_for_a();
  const SecretBytes master = must(stock->lookup_card_for(kRetailerA, iccids[0], CardPurpose::NewCard)).code;
  must(stock->begin_personalisation(iccids[0], CardPurpose::NewCard));
  const SecretBytes pending = must(stock->pending_issuer_code(iccids[0]));
  must(stock->mark_failed(iccids[0], {"unknown", "x", false, CodeOnCard::UnknownPendingFirst}));
  auto opening = must(stock->lookup_card_for(kRetailerA, iccids[0], CardPurpose::NewCard));
  EXPECT_EQ(opening.code_kind, OpeningCode::Issuer);
  EXPECT_EQ(to_hex(opening.code.view()), to_hex(pending.view()));
  EXPECT_EQ(to_hex(opening.alternative.view()), to_hex(master.view()));
}

TEST_F(CardStockTest, CsvBatchOpensWithItsSealedCodes) {
  const std::string csv_path = dir.file("cards.csv");
  test::write_file(csv_path,
                   "iccid,imsi,adm1\n"
                   "8988211000000530108,999700000053010,65942330\n"
                   "8988211000000530116,999700000053011,12345678\n",
                   0600);
  EXPECT_GT(must(stock->import_csv_batch("CSV1", csv_path)), 0);
  must(stock->assign_batch("CSV1", kRetailerB));
  auto opening = must(stock->lookup_card_for(kRetailerB, "8988211000000530108", CardPurpose::NewCard));
  EXPECT_EQ(to_hex(opening.code.view()), "3635393432333330");
  EXPECT_FALSE(test::contains(test::database_contents(db_path), hex("3635393432333330")));  // sealed, not in clear
  auto batches = must(stock->list_batches());
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_EQ(batches[0].kind, BatchKind::Csv);
  EXPECT_EQ(batches[0].card_count, 2);
  EXPECT_EQ(batches[0].blank, 2);
  EXPECT_EQ(batches[0].retailer_serial.value_or(""), kRetailerB);
}

TEST_F(CardStockTest, CsvImportIsAllOrNothing) {
  secret_batch_for_a(2);
  // The second card is already in batch B1: the whole file is refused, the first card not imported.
  auto r = stock->import_csv_text("CSV2", "iccid,pin_adm_hex\n8988211000000530108,0011223344556677\n"
                                          "8988211000000000011,0011223344556677\n", "dup.csv");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "dup.csv line 3: ICCID 8988211000000000011 is already in batch B1; nothing was imported");
  EXPECT_FALSE(must(stock->find_card("8988211000000530108")).has_value());
  EXPECT_EQ(must(stock->list_batches()).size(), 1u);
  // A missing file, a duplicate batch name.
  EXPECT_NE(stock->import_csv_batch("X", dir.file("absent.csv")).error().message.find("cannot read"), std::string::npos);
  EXPECT_EQ(stock->import_secret_batch("B1", kBatchSecret, "8988219", 1, 1).error().message,
            "a batch named B1 already exists; choose another name");
}

TEST_F(CardStockTest, AssignRefusesUnknownOrRevokedRetailersAndUnknownBatches) {
  secret_batch_for_a(1);
  EXPECT_EQ(stock->assign_batch("B1", "1234567890").error().message,
            "no retailer with serial 1234567890; see `adsctl retailer list`");
  EXPECT_EQ(stock->assign_batch("NOPE", kRetailerA).error().message, "no batch named NOPE; see `adsctl batch list`");
  must(retailers->revoke(kRetailerB));
  EXPECT_NE(stock->assign_batch("B1", kRetailerB).error().message.find("is revoked"), std::string::npos);
}

TEST_F(CardStockTest, SecretBatchArgumentsAreChecked) {
  EXPECT_FALSE(stock->import_secret_batch("S", Bytes(15, 1), "8988211", 1, 1).ok());
  EXPECT_FALSE(stock->import_secret_batch("S", kBatchSecret, "8988211", 1, 0).ok());
  EXPECT_FALSE(stock->import_secret_batch("S", kBatchSecret, "8988211", 1, kMaxSecretBatchCards + 1).ok());
  EXPECT_FALSE(stock->import_secret_batch("S", kBatchSecret, "89882113203", 9999999, 2).ok());  // runs out of digits
  EXPECT_FALSE(stock->import_secret_batch("bad name", kBatchSecret, "8988211", 1, 1).ok());
  EXPECT_EQ(must(stock->list_batches()).size(), 0u);
}

TEST_F(CardStockTest, SealedColumnsRefuseTampering) {
  const auto iccids = secret_batch_for_a(2);
  must(stock->import_csv_text("CSV1", "iccid,adm1\n8988211000000530108,1234\n8988211000000530116,5678\n", "f"));
  must(stock->assign_batch("CSV1", kRetailerA));
  // A CSV code moved to another card does not open.
  const Bytes blob = test::raw_blob(db_path, "SELECT sealed_master_code FROM cards WHERE iccid = '8988211000000530108'");
  ASSERT_EQ(test::raw_set_blob(db_path, "UPDATE cards SET sealed_master_code = ?1 WHERE iccid = '8988211000000530116'",
                               blob),
            "");
  auto moved = stock->lookup_card_for(kRetailerA, "8988211000000530116", CardPurpose::NewCard);
  ASSERT_FALSE(moved.ok());
  EXPECT_EQ(moved.error().message,
            "stored master code of card 8988211000000530116 fails authentication: the database was altered or the "
            "master key is wrong; restore from backup");
  // One flipped bit of the batch secret.
  Bytes secret = test::raw_blob(db_path, "SELECT sealed_secret FROM card_batches WHERE name = 'B1'");
  secret[20] ^= 0x01;
  ASSERT_EQ(test::raw_set_blob(db_path, "UPDATE card_batches SET sealed_secret = ?1 WHERE name = 'B1'", secret), "");
  auto flipped = stock->lookup_card_for(kRetailerA, iccids[0], CardPurpose::NewCard);
  ASSERT_FALSE(flipped.ok());
  EXPECT_NE(flipped.error().message.find("stored batch secret of batch B1 fails authentication"), std::string::npos);
  // The batch renamed: the secret was sealed to its name.
  must(stock->import_secret_batch("B2", kBatchSecret, "8988213", 1, 1));
  must(stock->assign_batch("B2", kRetailerA));
  ASSERT_EQ(test::raw_exec(db_path, "UPDATE card_batches SET name = 'B3' WHERE name = 'B2'"), "");
  EXPECT_FALSE(stock->lookup_card_for(kRetailerA, must(batch_iccid("8988213", 1)), CardPurpose::NewCard).ok());
}

TEST_F(CardStockTest, InterruptedPersonalisationsFailAtStartupAndKeepTheirNumbers) {
  const auto iccids = secret_batch_for_a(2);
  add_pools();
  must(stock->begin_personalisation(iccids[0], CardPurpose::NewCard));
  auto numbers = must(records->reserve_numbers(iccids[0]));
  restart();
  EXPECT_EQ(must(stock->fail_interrupted()), 1);
  EXPECT_EQ(state_of(iccids[0]), CardState::Failed);
  // The card may carry them: they stay reserved for it, and its retry gets them back.
  EXPECT_EQ(must(pools->numbers_of(iccids[0])).size(), 2u);
  auto other = must(records->reserve_numbers(iccids[1]));
  EXPECT_NE(other.imsi, numbers.imsi);
  EXPECT_NE(other.msisdn, numbers.msisdn);
  must(stock->begin_personalisation(iccids[0], CardPurpose::NewCard));
  auto again = must(records->reserve_numbers(iccids[0]));
  EXPECT_EQ(again.imsi, numbers.imsi);
  EXPECT_EQ(again.msisdn, numbers.msisdn);
  // Spoiled: retired, never handed out again, until an admin releases them.
  EXPECT_EQ(must(stock->mark_failed(iccids[0], {"1/17", "both codes refused", true, std::nullopt, true})),
            CardState::Spoiled);
  for (const auto& n : must(pools->numbers_of(iccids[0]))) EXPECT_EQ(n.state, NumberState::Retired);
  std::int64_t retired = 0;
  for (const auto& p : must(pools->list())) retired += p.retired;
  EXPECT_EQ(retired, 2);
  EXPECT_EQ(must(pools->release_retired(iccids[0])), 2);
  EXPECT_FALSE(pools->release_retired(iccids[1]).ok());  // not spoiled
}

TEST_F(CardStockTest, AFirstAttemptThatWroteNothingGivesItsNumbersBack) {
  const auto iccids = secret_batch_for_a(1);
  add_pools();
  must(stock->begin_personalisation(iccids[0], CardPurpose::NewCard));
  must(records->reserve_numbers(iccids[0]));
  EXPECT_EQ(must(stock->mark_failed(iccids[0], {"1/17", "card removed", false, std::nullopt, true})), CardState::Failed);
  EXPECT_EQ(must(pools->numbers_of(iccids[0])).size(), 0u);
}

TEST_F(CardStockTest, ListCardsByState) {
  const auto iccids = secret_batch_for_a(3);
  must(stock->begin_personalisation(iccids[0], CardPurpose::NewCard));
  EXPECT_EQ(must(stock->list_cards(CardState::Blank)).size(), 2u);
  auto running = must(stock->list_cards(CardState::InProgress));
  ASSERT_EQ(running.size(), 1u);
  EXPECT_EQ(running[0].iccid, iccids[0]);
  EXPECT_EQ(running[0].batch_name, "B1");
  EXPECT_EQ(must(stock->list_cards(std::nullopt)).size(), 3u);
}

}  // namespace
}  // namespace cardperso::ads
