// The Prometheus endpoints of ads-server and dtd-agent after a real personalisation through
// pcscd/vpcd: each page passes `promtool check metrics` (Debian's prometheus package) and its values
// match what happened.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <thread>

#include "cardperso/testing/run_program.hpp"
#include "personalisation_fixture.hpp"

namespace cardperso::e2e {
namespace {

using namespace std::chrono_literals;

constexpr const char* kMetricsAddress = "127.0.0.1:9464";  // the test's own network namespace

class Metrics : public PersonalisationFixture {
 protected:
  // The page, fetched by an independent HTTP client (Python's urllib).
  std::string scrape(const std::string& address = kMetricsAddress) {
    auto r = testing::run_program(
        {"/usr/bin/python3", "-c",
         "import sys, urllib.request; sys.stdout.write(urllib.request.urlopen('http://" + address +
             "/metrics', timeout=5).read().decode())"},
        file("scrape.err"), 10s);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  }
  // promtool, the Prometheus project's own checker, on the page as scraped.
  void expect_promtool_accepts(const std::string& page, const std::string& name) {
    const std::string path = file(name + ".txt");
    std::ofstream(path) << page;
    auto check = testing::run_program({"/bin/sh", "-c", "promtool check metrics < '" + path + "'"},
                                      file(name + "-promtool.err"), 30s);
    EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  }
  // The value of the sample `series` (name and labels exactly as exported), or -1.
  static double value(const std::string& page, const std::string& series) {
    std::istringstream lines(page);
    for (std::string line; std::getline(lines, line);)
      if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
    return -1;
  }
};

TEST_F(Metrics, APersonalisationShowsOnAPageThatPromtoolAccepts) {
  const std::string iccid = standard_stock(2).at(0);
  ads_extra_args_ = {"--metrics-listen", kMetricsAddress};
  ASSERT_NE(personalise_one(iccid), nullptr);

  // The levels are read every 2 s: wait for the card to show.
  std::string page;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  do {
    page = scrape();
    if (value(page, "cardperso_ads_cards{state=\"personalised\"}") == 1) break;
    std::this_thread::sleep_for(200ms);
  } while (std::chrono::steady_clock::now() < deadline);
  ASSERT_FALSE(page.empty());
  EXPECT_EQ(value(page, "cardperso_ads_cards{state=\"personalised\"}"), 1) << page;
  EXPECT_EQ(value(page, "cardperso_ads_cards{state=\"blank\"}"), 1);
  EXPECT_EQ(value(page, "cardperso_ads_sessions_established_total"), 1);
  EXPECT_EQ(value(page, "cardperso_ads_sessions_ended_total{outcome=\"completed\"}"), 1);
  EXPECT_EQ(value(page, "cardperso_ads_handshake_seconds_count"), 1);
  EXPECT_EQ(value(page, "cardperso_ads_card_seconds_count{outcome=\"personalised\"}"), 1);
  EXPECT_GE(value(page, "cardperso_ads_fsync_seconds_count"), 1);
  EXPECT_GE(value(page, "cardperso_ads_group_commit_batch_groups_count"), 1);
  EXPECT_EQ(value(page, "cardperso_ads_retailer_lockouts_total"), 0);
  // No HLR configured: the card's provisioning job waits, and the page says so.
  EXPECT_EQ(value(page, "cardperso_ads_hlr_jobs_waiting"), 1);
  EXPECT_NE(page.find("cardperso_build_info{program=\"ads-server\",version=\""), std::string::npos);
  EXPECT_TRUE(std::regex_search(page, std::regex("cardperso_ads_number_pool_remaining\\{kind=\"imsi\",pool=\"\\d+\"\\} \\d+")));

  expect_promtool_accepts(page, "ads-metrics");
}

// dtd-agent --metrics-listen 0: a bare port binds loopback, port 0 a free one, which the agent logs.
// The session is PersonalisationFixture::personalise_one's, but without --exit-after-last, so the agent
// is still up when the session is over.
TEST_F(Metrics, TheDtdAgentsPageCountsThePersonalisationAndPromtoolAcceptsIt) {
  const std::string iccid = standard_stock(2).at(0);
  const int ads_port = start_ads({"--profile", profile_path_});
  ASSERT_GT(ads_port, 0);
  dtd_port_ = start_dtd(ads_port, "", true,
                        {"--customer", customer_file("Alice Example", "1990-02-28"), "--receipt-dir", receipt_dir_,
                         "--metrics-listen", "0"});
  ASSERT_GT(dtd_port_, 0);
  const auto logged = wait_for_log(dtd_log_, std::regex(R"(metrics on http://(127\.0\.0\.1:(\d+))/metrics)"), 10s);
  ASSERT_TRUE(logged) << dtd_log();
  const std::string address = (*logged)[1];
  EXPECT_NE((*logged)[2], "0");

  // Before the terminal: linked to the ADS, the one request waiting, nothing served.
  std::string page;
  auto deadline = std::chrono::steady_clock::now() + 10s;
  do {
    page = scrape(address);
    if (value(page, "cardperso_dtd_ads_link_up") == 1) break;
    std::this_thread::sleep_for(100ms);
  } while (std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(value(page, "cardperso_dtd_ads_link_up"), 1) << page;
  EXPECT_EQ(value(page, "cardperso_dtd_requests_waiting"), 1);
  EXPECT_EQ(value(page, "cardperso_dtd_ste_link_up"), 0);
  EXPECT_EQ(value(page, "cardperso_dtd_retailer_signed_on"), 0);
  EXPECT_EQ(value(page, "cardperso_dtd_sessions_relayed_total"), 0);
  EXPECT_EQ(value(page, "cardperso_dtd_requests_served_total{outcome=\"personalised\"}"), 0);

  retailer_sim_ = start_card(retailer_image_, 0);
  ASSERT_NE(retailer_sim_, nullptr);
  SteOptions options;
  options.keypad = {kPin};
  for (const auto& k : new_card_keys()) options.keypad.push_back(k);
  start_ste(dtd_port_, options);
  remove_retailer_card();
  auto* card = insert_customer_card(card_image("cards", iccid), 1);
  ASSERT_NE(card, nullptr);
  const auto shown = wait_display("Card personalised: MSISDN (\\d+)", 60s);
  ASSERT_TRUE(shown) << display_text();
  const std::string msisdn = (*shown)[1];
  pull(card);
  EXPECT_EQ(ste().wait_exit(Millis(40000)), 0) << display_text();
  EXPECT_TRUE(displayed("Session ended")) << display_text();

  // The terminal gone and the session over: wait for the agent to have seen both.
  deadline = std::chrono::steady_clock::now() + 10s;
  do {
    page = scrape(address);
    if (value(page, "cardperso_dtd_ste_link_up") == 0 && value(page, "cardperso_dtd_sessions_relayed_total") == 1 &&
        value(page, "cardperso_dtd_retailer_signed_on") == 0)
      break;
    std::this_thread::sleep_for(100ms);
  } while (std::chrono::steady_clock::now() < deadline);
  ASSERT_FALSE(page.empty());
  EXPECT_EQ(value(page, "cardperso_dtd_requests_served_total{outcome=\"personalised\"}"), 1) << page;
  EXPECT_EQ(value(page, "cardperso_dtd_requests_served_total{outcome=\"modified\"}"), 0);
  EXPECT_EQ(value(page, "cardperso_dtd_requests_served_total{outcome=\"refused\"}"), 0);
  EXPECT_EQ(value(page, "cardperso_dtd_requests_served_total{outcome=\"failed\"}"), 0);
  EXPECT_EQ(value(page, "cardperso_dtd_requests_waiting"), 0);
  EXPECT_EQ(value(page, "cardperso_dtd_request_seconds_count{outcome=\"personalised\"}"), 1);
  // The clerk's check and the card's script are in it: well above nothing, well below the test's minute.
  EXPECT_GT(value(page, "cardperso_dtd_request_seconds_sum{outcome=\"personalised\"}"), 0.01);
  EXPECT_LT(value(page, "cardperso_dtd_request_seconds_sum{outcome=\"personalised\"}"), 60);
  EXPECT_EQ(value(page, "cardperso_dtd_sessions_relayed_total"), 1);
  EXPECT_EQ(value(page, "cardperso_dtd_retailer_signed_on"), 0);
  EXPECT_EQ(value(page, "cardperso_dtd_ste_link_up"), 0);
  // The ADS link stays up across sessions: one attempt, and it worked.
  EXPECT_EQ(value(page, "cardperso_dtd_ads_link_up"), 1);
  EXPECT_EQ(value(page, "cardperso_dtd_ads_connection_attempts_total"), 1);
  EXPECT_EQ(value(page, "cardperso_dtd_ads_connection_failures_total"), 0);
  // At least H1 and H3 went to the ADS, H2 and H4 came back, unchanged.
  EXPECT_GE(value(page, "cardperso_dtd_frames_relayed_total{direction=\"ste_to_ads\"}"), 2);
  EXPECT_GE(value(page, "cardperso_dtd_frames_relayed_total{direction=\"ads_to_ste\"}"), 2);
  EXPECT_NE(page.find("cardperso_build_info{program=\"dtd-agent\",version=\""), std::string::npos);
  // Nothing of the customer or the card is on the page.
  EXPECT_EQ(page.find(iccid), std::string::npos);
  EXPECT_EQ(page.find(msisdn), std::string::npos);
  EXPECT_EQ(page.find("Alice"), std::string::npos);

  expect_promtool_accepts(page, "dtd-metrics");
}

}  // namespace
}  // namespace cardperso::e2e
