// A SIM personalised end to end is provisioned in a real osmo-hlr (Debian's osmo-hlr 1.5.0) and
// authenticates against it: the HLR's SendAuthInfo tuples, asked for over GSUP as an MSC/VLR would, are
// exactly what the card answers to RUN GSM ALGORITHM on each tuple's RAND. No project code computes the
// expected values: the network's view against the card's. One tuple is cross-checked with
// osmo-auc-gen. A new number reaches the HLR; a retired card's subscriber is removed.
#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "cardperso/common/bytes.hpp"
#include "cardperso/testing/gsup_client.hpp"
#include "cardperso/testing/osmo_auc_gen.hpp"
#include "cardperso/testing/osmo_hlr_process.hpp"
#include "personalisation_fixture.hpp"

namespace cardperso::e2e {
namespace {

using namespace std::chrono_literals;
using testing::HlrSubscriber;

class HlrProvisioning : public PersonalisationFixture {
 protected:
  void SetUp() override {
    PersonalisationFixture::SetUp();
    std::filesystem::create_directories(file("hlr"));
    hlr_ = std::make_unique<testing::OsmoHlr>(file("hlr"));
    ads_extra_args_ = {"--hlr-ctrl", ctrl(), "--hlr-retry-ms", "200", "--hlr-retry-max-ms", "1000", "--hlr-poll-ms",
                       "200"};
  }
  void TearDown() override {
    if (HasFailure() && hlr_) std::cout << "osmo-hlr log:\n" << hlr_->log_tail(40) << "\n";
    hlr_.reset();
    PersonalisationFixture::TearDown();
  }
  std::string ctrl() const { return "127.0.0.1:" + std::to_string(testing::OsmoHlr::kCtrlPort); }

  // The HLR's row for the IMSI once `ready` holds for it (or nothing after the deadline).
  std::optional<HlrSubscriber> wait_subscriber(const std::string& imsi,
                                               const std::function<bool(const HlrSubscriber*)>& ready,
                                               Millis timeout = 15s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto all = hlr_->subscribers();
      const HlrSubscriber* found = nullptr;
      if (all) {
        for (const auto& s : *all)
          if (s.imsi == imsi) found = &s;
        if (ready(found)) return found ? std::optional<HlrSubscriber>(*found) : std::optional<HlrSubscriber>(HlrSubscriber{});
      }
      if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
      std::this_thread::sleep_for(100ms);
    }
  }

  // Every job in the outbox delivered (the whole create-or-update done, not just its first step).
  bool wait_all_delivered(Millis timeout = 15s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (count("SELECT count(*) FROM hlr_jobs WHERE delivered_at IS NULL") != 0) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(100ms);
    }
    return true;
  }

  std::int64_t audit_events(const std::string& event, const std::string& iccid) {
    return count("SELECT count(*) FROM audit_log WHERE event = ?1 AND subject = ?2", {event, iccid});
  }

  // -1 when the HLR's database cannot be read.
  long long hlr_count() {
    auto n = hlr_->subscriber_count();
    return n ? static_cast<long long>(*n) : -1;
  }

  std::unique_ptr<testing::OsmoHlr> hlr_;
};

TEST_F(HlrProvisioning, APersonalisedSimIsInTheHlrAndAuthenticatesAgainstIt) {
  ASSERT_TRUE(hlr_->start()) << hlr_->log_tail();
  const auto iccids = standard_stock(2);
  const std::string iccid = iccids[0];
  auto* card = personalise_one(iccid);
  ASSERT_NE(card, nullptr);
  const auto recs = records(iccid);
  ASSERT_EQ(recs.size(), 1u);
  const KeysFromStore keys = keys_of(iccid, 1);

  // The HLR holds the subscriber: IMSI, MSISDN, access, Milenage with the card's K and OPc.
  ASSERT_TRUE(wait_all_delivered()) << "the job was not delivered";
  auto sub = wait_subscriber(recs[0].imsi, [](const HlrSubscriber* s) { return s != nullptr; });
  ASSERT_TRUE(sub) << "the subscriber did not reach the HLR";
  EXPECT_EQ(sub->msisdn, recs[0].msisdn);
  EXPECT_TRUE(sub->nam_cs);
  EXPECT_TRUE(sub->nam_ps);
  EXPECT_EQ(sub->algo_id_3g, 5);  // osmocom's OSMO_AUTH_ALG_MILENAGE
  EXPECT_EQ(sub->k_hex, to_hex(keys.ki.view()));
  EXPECT_EQ(sub->opc_hex, to_hex(keys.opc.view()));
  EXPECT_EQ(hlr_count(), 1);

  // The network's view: SendAuthInfo over GSUP.
  auto gsup = testing::GsupClient::connect({});
  ASSERT_TRUE(gsup) << gsup.error().message;
  auto tuples = (*gsup)->send_auth_info(recs[0].imsi);
  ASSERT_TRUE(tuples) << tuples.error().message;
  ASSERT_GE(tuples->size(), 1u);
  std::cout << "osmo-hlr returned " << tuples->size() << " auth tuples for IMSI " << recs[0].imsi << "\n";

  // The card's answer to each tuple's RAND, read through PC/SC with the customer's PIN.
  reinsert(card);
  for (const auto& t : *tuples) {
    ASSERT_EQ(t.rand.size(), 16u);
    auto read = simread({"--run-gsm", upper_hex(t.rand)}, kCustomerPin);
    ASSERT_EQ(read.exit_code, 0) << read.err;
    EXPECT_EQ(read.doc.value("imsi", ""), recs[0].imsi);
    EXPECT_EQ(read.doc.value("sres", ""), upper_hex(t.sres)) << "RAND " << upper_hex(t.rand);
    EXPECT_EQ(read.doc.value("kc", ""), upper_hex(t.kc)) << "RAND " << upper_hex(t.rand);
  }
  // One tuple against an independent Milenage (libosmocore's osmo-auc-gen) on the HLR's own K/OPc.
  auto k = from_hex(sub->k_hex), opc = from_hex(sub->opc_hex);
  ASSERT_TRUE(k && opc);
  auto independent = testing::osmo_auc_gen_milenage(*k, *opc, (*tuples)[0].rand);
  ASSERT_TRUE(independent) << independent.error().message;
  EXPECT_EQ(independent->sres, (*tuples)[0].sres);
  EXPECT_EQ(independent->kc, (*tuples)[0].kc);

  // adsctl agrees, and the delivery is recorded once.
  auto check = adsctl({"hlr", "check", iccid, "--hlr-ctrl", ctrl()});
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  EXPECT_NE(check.out.find("result       match"), std::string::npos) << check.out;
  auto status = adsctl({"hlr", "status"});
  EXPECT_NE(status.out.find("waiting      0 jobs"), std::string::npos) << status.out;
  EXPECT_EQ(audit_events("hlr_provisioned", iccid), 1);

  // K and OPc went to the HLR, and nowhere else the tests can see.
  expect_absent_everywhere({{"Ki", upper_hex(keys.ki.view())},
                            {"OPc", upper_hex(keys.opc.view())},
                            {"customer PIN", kCustomerPin}});
  EXPECT_EQ(check.out.find(to_hex(keys.ki.view())), std::string::npos);
}

TEST_F(HlrProvisioning, ANewNumberReachesTheHlrAndARetiredCardIsRemoved) {
  ASSERT_TRUE(hlr_->start()) << hlr_->log_tail();
  const auto iccids = standard_stock(2);
  const std::string iccid = iccids[0];
  std::vector<std::string> keypad = {kPin};
  for (const auto& k : new_card_keys()) keypad.push_back(k);
  keypad.insert(keypad.end(), {"ok", kCustomerPin});
  ASSERT_TRUE(start_personalisation({"--customer", customer_file("Alice Example", "1990-02-28"), "--modify",
                                     modify_file(iccid, {{"msisdn", "new"}})},
                                    keypad));
  remove_retailer_card();
  auto* card = insert_customer_card(card_image("cards", iccid), 1);
  ASSERT_NE(card, nullptr);
  auto first = wait_display("Card personalised: MSISDN (\\d+)", 60s);
  ASSERT_TRUE(first) << display_text();
  pull(card);
  const std::string old_msisdn = (*first)[1];
  ASSERT_TRUE(wait_all_delivered()) << "the job was not delivered";
  auto first_in_hlr = wait_subscriber(records(iccid).at(0).imsi, [](const HlrSubscriber* s) { return s != nullptr; });
  ASSERT_TRUE(first_in_hlr);
  EXPECT_EQ(first_in_hlr->msisdn, old_msisdn);

  // The same card back for its modification: a new number.
  ASSERT_TRUE(wait_display_count("Insert customer card", 2, 30s)) << display_text();
  reinsert(card);
  ASSERT_TRUE(wait_display("Check: change new MSISDN", 30s)) << display_text();
  ASSERT_TRUE(wait_display("Card updated", 60s)) << display_text();
  pull(card);
  expect_session_completed();
  const auto recs = records(iccid);
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].msisdn, old_msisdn);
  const std::string new_msisdn = recs[1].msisdn;
  EXPECT_NE(new_msisdn, old_msisdn);
  EXPECT_EQ(recs[1].imsi, recs[0].imsi);

  auto moved = wait_subscriber(recs[1].imsi, [&](const HlrSubscriber* s) { return s && s->msisdn == new_msisdn; });
  ASSERT_TRUE(moved) << "the new MSISDN did not reach the HLR";
  EXPECT_EQ(hlr_count(), 1);
  reinsert(card);
  auto read = simread({}, kCustomerPin);
  ASSERT_EQ(read.exit_code, 0) << read.err;
  EXPECT_EQ(read.doc.value("msisdn", ""), new_msisdn);  // the card and the HLR agree
  auto check = adsctl({"hlr", "check", iccid, "--hlr-ctrl", ctrl()});
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;

  // Retired (lost): the subscriber leaves the HLR; its numbers are not handed out again.
  auto retired = adsctl({"card", "retire", iccid, "--reason", "lost by the customer"});
  ASSERT_EQ(retired.exit_code, 0) << retired.err;
  auto gone = wait_subscriber(recs[1].imsi, [](const HlrSubscriber* s) { return s == nullptr; });
  ASSERT_TRUE(gone) << "the retired card's subscriber is still in the HLR";
  EXPECT_EQ(hlr_count(), 0);
  check = adsctl({"hlr", "check", iccid, "--hlr-ctrl", ctrl()});
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  EXPECT_NE(check.out.find("absent, as it should be for a retired card"), std::string::npos) << check.out;
  EXPECT_EQ(card_row(iccid).state, "spoiled");
  EXPECT_EQ(count("SELECT count(*) FROM number_allocations WHERE iccid = ?1 AND state = 'retired'", {iccid}), 2);
  EXPECT_EQ(audit_events("hlr_provisioned", iccid), 2);
  EXPECT_EQ(audit_events("hlr_removed", iccid), 1);
  EXPECT_EQ(audit_events("card_retired", iccid), 1);

  // A GSUP query for the retired IMSI now fails as for any unknown subscriber.
  auto gsup = testing::GsupClient::connect({});
  ASSERT_TRUE(gsup) << gsup.error().message;
  EXPECT_FALSE((*gsup)->send_auth_info(recs[1].imsi));
}

}  // namespace
}  // namespace cardperso::e2e
