// ads-server reloads its assessment policy on SIGHUP (systemctl reload), the real programs through
// pcscd/vpcd: a shop session open across the reload completes, the next customer meets the new
// policy, and an invalid policy file leaves the last good one in force, logged and audited.
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <thread>

#include "personalisation_fixture.hpp"

namespace cardperso::e2e {
namespace {

using namespace std::chrono_literals;

class ConfigReload : public PersonalisationFixture {
 protected:
  void write_policy(const std::string& json) {
    std::ofstream out(policy_path_, std::ios::trunc);
    out << json;
  }
  std::int64_t audited(const std::string& event) {
    return count("SELECT count(*) FROM audit_log WHERE event = ?1", {event});
  }
  std::string last_audit_detail(const std::string& event) {
    auto rows = query("SELECT detail FROM audit_log WHERE event = ?1 ORDER BY seq DESC LIMIT 1", {event});
    return rows.empty() || !rows[0][0] ? std::string() : *rows[0][0];
  }
  // The audit entry commits with the io turn's group: poll rather than read once.
  bool wait_audited(const std::string& event, std::int64_t n) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
      if (audited(event) >= n) return true;
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }
  // One visit of a customer the policy now refuses: the ADS's no-go reaches the DTD and the
  // session ends (the refused customer was the last request).
  void refused_visit(const std::string& why) {
    ASSERT_NO_FATAL_FAILURE(start_visit(ads_port_, customer_file("Alice Example", "1990-02-28"), false));
    EXPECT_TRUE(wait_for_log(dtd_log_, std::regex("decision: no-go: " + why), 30s)) << dtd_log();
    EXPECT_TRUE(dtd_->wait_exit(Millis(30000)).has_value()) << "dtd-agent did not end after the last request";
    ste().wait_exit(Millis(30000));
    // The terminal never asked for the retailer card (no card to personalise): take it out, and
    // wait until pcscd has seen it go, so the next visit's insertion is a fresh one.
    pull(retailer_sim_);
    auto absent = pcsc().wait_for_card_absent(testing::kReader0, std::chrono::seconds(5));
    ASSERT_TRUE(absent.ok() && *absent) << "pcscd did not see the retailer card go";
  }

  std::string policy_path_;
};

TEST_F(ConfigReload, SighupPutsANewPolicyInForceAndABadOneChangesNothing) {
  const auto iccids = standard_stock(2);
  policy_path_ = file("policy.json");
  write_policy(R"({"required_fields": ["name", "date_of_birth"], "min_age": 18})");
  ads_extra_args_ = {"--policy", policy_path_};

  // Alice (born 1990) is of age under the first policy: her card is personalised.
  std::vector<std::string> keypad = {kPin};
  for (const auto& k : new_card_keys()) keypad.push_back(k);
  ASSERT_TRUE(start_personalisation({"--customer", customer_file("Alice Example", "1990-02-28")}, keypad));
  remove_retailer_card();
  auto* card = insert_customer_card(card_image("cards", iccids[0]), 1);
  ASSERT_NE(card, nullptr);
  ASSERT_TRUE(wait_display("Card personalised: MSISDN \\d+$", 60s)) << display_text();
  ASSERT_EQ(count("SELECT count(*) FROM decisions WHERE go = 1"), 1);

  // The policy rewritten and SIGHUP sent while this shop's link is still up (the terminal waits for
  // the card to be pulled, the DTD for the terminal): the reload is logged and audited, the link is
  // not dropped, and the visit ends as usual.
  write_policy(R"({"required_fields": ["name", "date_of_birth"], "min_age": 150})");
  ads_->send_signal(SIGHUP);
  auto reloaded =
      wait_for_log(ads_log_, std::regex("configuration reloaded: personalisation: profile (\\S+) .*policy ([^;,]+)[;,]"), 10s);
  ASSERT_TRUE(reloaded) << ads_log();
  EXPECT_EQ((*reloaded)[1], "gsm-sim-default");
  EXPECT_EQ((*reloaded)[2], policy_path_);
  EXPECT_EQ(ads_log().find("disconnected"), std::string::npos) << ads_log();
  EXPECT_TRUE(wait_for_log(ads_log_, std::regex("SIGHUP received: reloading the assessment policy and the card profile"), 1s));
  ASSERT_TRUE(wait_audited("config_reloaded", 1));
  const std::string detail = last_audit_detail("config_reloaded");
  EXPECT_NE(detail.find("profile=gsm-sim-default "), std::string::npos) << detail;
  EXPECT_NE(detail.find("policy=" + policy_path_), std::string::npos) << detail;
  pull(card);
  expect_session_completed();
  ASSERT_TRUE(wait_no_open_session(10s));
  EXPECT_EQ(count("SELECT count(*) FROM sessions WHERE outcome = 'completed'"), 1);
  EXPECT_EQ(card_row(iccids[0]).state, "personalised");

  // The next customer, the same Alice, is refused by the new rule, recorded as such.
  ASSERT_NO_FATAL_FAILURE(refused_visit("customer is under 150"));
  EXPECT_EQ(count("SELECT count(*) FROM decisions WHERE go = 0 AND reasons LIKE '%under 150%'"), 1);
  EXPECT_EQ(card_row(iccids[1]).state, "blank");

  // A policy file that does not parse: the server logs why, audits the failure, and keeps running
  // with the last good policy (min_age 150, not the first file's 18 nor the default).
  write_policy(R"({"min_age": "one hundred and fifty")");
  ads_->send_signal(SIGHUP);
  EXPECT_TRUE(wait_for_log(ads_log_,
                           std::regex("configuration not reloaded: --policy " + policy_path_ +
                                      ": .*; the running configuration stays in force"),
                           10s))
      << ads_log();
  ASSERT_TRUE(wait_audited("config_reload_failed", 1));
  EXPECT_NE(last_audit_detail("config_reload_failed").find("reason=--policy " + policy_path_),
            std::string::npos)
      << last_audit_detail("config_reload_failed");
  EXPECT_EQ(audited("config_reloaded"), 1);
  EXPECT_FALSE(ads_->wait_exit(Millis(300)).has_value()) << "ads-server ended: " << ads_->exit_text();

  ASSERT_NO_FATAL_FAILURE(refused_visit("customer is under 150"));
  EXPECT_EQ(count("SELECT count(*) FROM decisions WHERE go = 0 AND reasons LIKE '%under 150%'"), 2);
  EXPECT_EQ(count("SELECT count(*) FROM decisions"), 3);

  // SIGTERM still stops it gracefully, after the reloads.
  EXPECT_EQ(ads_->terminate(Millis(10000)), 0) << ads_->exit_text();
}

}  // namespace
}  // namespace cardperso::e2e
