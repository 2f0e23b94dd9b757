// ads-server's Prometheus endpoint after a real personalisation through pcscd/vpcd: the page passes
// `promtool check metrics` (Debian's prometheus package) and its values match what happened.
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
  std::string scrape() {
    auto r = testing::run_program(
        {"/usr/bin/python3", "-c",
         "import sys, urllib.request; sys.stdout.write(urllib.request.urlopen('http://" + std::string(kMetricsAddress) +
             "/metrics', timeout=5).read().decode())"},
        file("scrape.err"), 10s);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
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

  // promtool, the Prometheus project's own checker, on the page as scraped.
  const std::string path = file("metrics.txt");
  std::ofstream(path) << page;
  auto check = testing::run_program({"/bin/sh", "-c", "promtool check metrics < '" + path + "'"}, file("promtool.err"), 30s);
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
}

}  // namespace
}  // namespace cardperso::e2e
