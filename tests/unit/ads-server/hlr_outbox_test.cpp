// The HLR outbox: a job with every record, in the record's transaction; delivery order; retirement.
#include "cardperso/ads/store/hlr_outbox.hpp"

#include <gtest/gtest.h>

#include "stock_fixture.hpp"

namespace cardperso::ads {
namespace {

using test::kRetailerA;
using test::must;

class HlrOutboxTest : public test::StockTest {
 protected:
  void SetUp() override {
    StockTest::SetUp();
    iccids = secret_batch_for_a(4);
    add_pools();
    outbox.emplace(*db, *audit, "tester", clock());
  }
  PersonalisationRecord personalise(const std::string& iccid) {
    auto rec = begun(iccid);
    must(records->record_personalisation(rec));
    return rec;
  }
  std::vector<std::int64_t> due_ids() {
    std::vector<std::int64_t> ids;
    for (const auto& j : must(outbox->due())) ids.push_back(j.id);
    return ids;
  }
  std::int64_t audit_count(const std::string& event) {
    return test::raw_int(db_path, "SELECT count(*) FROM audit_log WHERE event = '" + event + "'");
  }

  std::vector<std::string> iccids;
  std::optional<HlrOutbox> outbox;
};

TEST_F(HlrOutboxTest, ARecordCommitsWithItsProvisionJob) {
  const auto rec = personalise(iccids[0]);
  auto jobs = must(outbox->jobs_of(iccids[0]));
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].action, HlrAction::Provision);
  EXPECT_EQ(jobs[0].record_version, 1);
  EXPECT_EQ(jobs[0].imsi, rec.content.imsi);
  EXPECT_EQ(jobs[0].attempts, 0);
  EXPECT_FALSE(jobs[0].delivered_at);
  // The job holds no key: only the record version it names.
  const std::string as_hex = pg ? "encode(convert_to(imsi || last_error, 'UTF8'), 'hex')" : "hex(imsi || last_error)";
  EXPECT_EQ(test::raw_int(db_path, "SELECT count(*) FROM hlr_jobs WHERE lower(" + as_hex +
                                       ") LIKE '%465b5ce8b199b49faa5f0a2ee238a6bc%'"),
            0);
}

TEST_F(HlrOutboxTest, ARecordThatFailsLeavesNoJob) {
  auto rec = begun(iccids[0]);
  rec.retailer_serial = "8949000000000000002";  // not the card's retailer: the record is refused
  EXPECT_FALSE(records->record_personalisation(rec));
  EXPECT_EQ(test::raw_int(db_path, "SELECT count(*) FROM hlr_jobs"), 0);
}

TEST_F(HlrOutboxTest, AModificationProvisionsItsVersionAndANewImsiRemovesTheOldFirst) {
  const auto rec = personalise(iccids[0]);
  must(stock->begin_personalisation(iccids[0], CardPurpose::Modification));
  ModificationRecord mod = modification_of(rec);
  mod.content.imsi = must(db->with_transaction([&] { return pools->allocate(NumberKind::Imsi, iccids[0]); }));
  EXPECT_EQ(must(records->record_modification(mod)), 2);
  auto jobs = must(outbox->jobs_of(iccids[0]));
  ASSERT_EQ(jobs.size(), 3u);
  EXPECT_EQ(jobs[1].action, HlrAction::Remove);
  EXPECT_EQ(jobs[1].imsi, rec.content.imsi);
  EXPECT_EQ(jobs[2].action, HlrAction::Provision);
  EXPECT_EQ(jobs[2].record_version, 2);
  EXPECT_EQ(jobs[2].imsi, mod.content.imsi);
}

TEST_F(HlrOutboxTest, JobsGoInOrderAndARefusedOneHoldsBackOnlyItsOwnCard) {
  personalise(iccids[0]);
  personalise(iccids[1]);
  must(records->retire(iccids[0], "lost"));  // job 3: remove, behind job 1 of the same card
  EXPECT_EQ(due_ids(), (std::vector<std::int64_t>{1, 2}));

  auto first = must(outbox->job(1));
  ASSERT_TRUE(first);
  must(outbox->mark_failed(*first, "the HLR refused subscriber.by-imsi-x.msisdn: Update MSISDN failed", now + std::chrono::seconds(30)));
  // Job 1 waits 30 s; job 3 (same card) waits behind it; job 2 goes on.
  EXPECT_EQ(due_ids(), (std::vector<std::int64_t>{2}));
  auto backlog = must(outbox->backlog());
  EXPECT_EQ(backlog.pending, 3);
  ASSERT_TRUE(backlog.stuck);
  EXPECT_EQ(backlog.stuck->id, 1);
  EXPECT_EQ(backlog.stuck->attempts, 1);
  EXPECT_NE(backlog.stuck->last_error.find("Update MSISDN failed"), std::string::npos);

  must(outbox->mark_delivered(*must(outbox->job(2))));
  EXPECT_TRUE(due_ids().empty());
  EXPECT_EQ(must(outbox->next_due()).value(), now + std::chrono::seconds(30));
  now += std::chrono::seconds(30);
  EXPECT_EQ(due_ids(), (std::vector<std::int64_t>{1}));
  must(outbox->mark_delivered(*must(outbox->job(1))));
  EXPECT_EQ(due_ids(), (std::vector<std::int64_t>{3}));
  must(outbox->mark_delivered(*must(outbox->job(3))));
  EXPECT_TRUE(due_ids().empty());
  EXPECT_FALSE(must(outbox->next_due()));
  backlog = must(outbox->backlog());
  EXPECT_EQ(backlog.pending, 0);
  EXPECT_EQ(backlog.delivered, 3);
  EXPECT_EQ(audit_count("hlr_provisioned"), 2);
  EXPECT_EQ(audit_count("hlr_removed"), 1);
}

TEST_F(HlrOutboxTest, DeliveringTwiceRecordsOnce) {
  personalise(iccids[0]);
  const auto job = *must(outbox->job(1));
  must(outbox->mark_delivered(job));
  must(outbox->mark_delivered(job));  // a redelivery after a crash between the HLR's reply and the mark
  EXPECT_EQ(audit_count("hlr_provisioned"), 1);
  EXPECT_EQ(must(outbox->job(1))->attempts, 1);
  EXPECT_TRUE(must(audit->verify()).intact());
  EXPECT_NE(test::raw_exec(db_path, "DELETE FROM hlr_jobs"), "");  // the history stays
}

TEST_F(HlrOutboxTest, RetiringSpoilsTheCardRetiresItsNumbersAndQueuesTheRemoval) {
  const auto rec = personalise(iccids[0]);
  EXPECT_FALSE(records->retire(iccids[1], "lost"));  // blank: nothing to retire
  EXPECT_FALSE(records->retire(iccids[0], ""));      // a reason is required
  must(records->retire(iccids[0], "stolen"));
  EXPECT_EQ(state_of(iccids[0]), CardState::Spoiled);
  for (const auto& n : must(pools->numbers_of(iccids[0]))) EXPECT_EQ(n.state, NumberState::Retired);
  auto jobs = must(outbox->jobs_of(iccids[0]));
  ASSERT_EQ(jobs.size(), 2u);
  EXPECT_EQ(jobs[1].action, HlrAction::Remove);
  EXPECT_EQ(jobs[1].imsi, rec.content.imsi);
  EXPECT_EQ(audit_count("card_retired"), 1);
  // A retired card is never opened again, for a modification or otherwise.
  EXPECT_FALSE(stock->lookup_card_for(kRetailerA, iccids[0], CardPurpose::Modification));
  EXPECT_FALSE(records->retire(iccids[0], "again"));
  // Its numbers go back only once it is destroyed.
  EXPECT_EQ(must(pools->release_retired(iccids[0])), 2);
}

TEST_F(HlrOutboxTest, SyncQueuesTheLatestRecordOfEveryCardInService) {
  personalise(iccids[0]);
  personalise(iccids[1]);
  personalise(iccids[2]);
  must(records->retire(iccids[2], "returned"));
  const auto before = test::raw_int(db_path, "SELECT count(*) FROM hlr_jobs");
  EXPECT_EQ(must(outbox->enqueue_everything()), 2);
  EXPECT_EQ(test::raw_int(db_path, "SELECT count(*) FROM hlr_jobs"), before + 2);
  EXPECT_EQ(test::raw_int(db_path, "SELECT count(*) FROM hlr_jobs WHERE iccid = '" + iccids[2] + "'"), 2);
  EXPECT_EQ(audit_count("hlr_sync"), 1);
}

}  // namespace
}  // namespace cardperso::ads
