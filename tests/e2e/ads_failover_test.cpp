// dtd-agent with several --ads addresses, end to end: the programs as processes in a pcsc-sandbox.
//  - the first address is a closed port: the DTD passes it over at once for the second, a running
//    ads-server, and a card is personalised through it;
//  - two ads-servers on the same SQLite database file (WAL: several processes, writes serialised):
//    the DTD prefers A; a card is personalised via A; A is SIGKILLed while the session waits for the
//    next card; the DTD fails over to B, the retailer signs on again and the queued request (never
//    lost) gives the next card via B; A is restarted on its port and, with no session open, the DTD
//    fails back to it within the fail-back period (--ads-failback-s 1).
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <regex>

#include "personalisation_fixture.hpp"

using namespace cardperso;
using namespace cardperso::e2e;
using namespace std::chrono_literals;

namespace {

// A loopback port nothing listens on: bound, read, closed (the sandbox has its own network, so no
// other program takes it meanwhile).
int closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

std::string local(int port) { return "127.0.0.1:" + std::to_string(port); }

// s as a regular expression matching itself.
std::string quoted(const std::string& s) {
  return std::regex_replace(s, std::regex(R"([.^$|()\[\]{}*+?\\])"), R"(\$&)");
}

class AdsFailover : public PersonalisationFixture {
 protected:
  void TearDown() override {
    // Before the secret scan and the logs' dump: every log complete.
    for (auto* child : {other_ads_.get(), restarted_ads_.get()})
      if (child != nullptr && child->running()) child->terminate(Millis(5000));
    if (HasFailure())
      for (const char* log : {"ads-b.log", "ads-a-restarted.log"})
        std::cerr << "----- " << log << " -----\n" << read_text_file(file(log));
    PersonalisationFixture::TearDown();
  }

  // One more ads-server on the fixture's database and master key, on `port` (0: a free one); its log
  // in `log`. Returns the port it listens on.
  int start_more_ads(std::unique_ptr<ChildProcess>& slot, const std::string& name, int port, const std::string& log) {
    std::vector<std::string> argv = {bin_.ads_server, "--db",        db_,         "--master-key", master_key_,
                                     "--listen",      local(port),   "--log-level", "debug",      "--log-file",
                                     log,             "--profile",   profile_path_};
    slot = std::make_unique<ChildProcess>(name, argv, file(name + ".stderr"));
    auto printed = slot->wait_for_line(std::regex(R"(^listening on 127\.0\.0\.1:(\d+)$)"), Millis(15000));
    if (!printed) {
      ADD_FAILURE() << name << " did not print 'listening on 127.0.0.1:PORT'";
      return 0;
    }
    return std::stoi(printed->at(1));
  }

  bool dtd_logged(const std::string& re, Millis timeout) { return wait_for_log(dtd_log_, std::regex(re), timeout).has_value(); }

  // Waits for the card's outcome on the display, then pulls it; returns the MSISDN shown.
  std::string personalised(cardperso::testing::CardSimProcess* card) {
    auto shown = wait_display("Card personalised: MSISDN (\\d+)$", 60s);
    if (!shown) {
      ADD_FAILURE() << "the card was not personalised\n" << display_text();
      return "";
    }
    pull(card);
    return (*shown)[1];
  }

  // dtd-agent's metrics page (--metrics-listen 0), fetched by Python's urllib.
  std::string scrape() {
    if (metrics_address_.empty()) {
      const auto logged = wait_for_log(dtd_log_, std::regex(R"(metrics on http://(127\.0\.0\.1:\d+)/metrics)"), 10s);
      if (!logged) return "";
      metrics_address_ = (*logged)[1];
    }
    auto r = cardperso::testing::run_program({"/usr/bin/python3", "-c",
                                   "import sys, urllib.request; sys.stdout.write(urllib.request.urlopen('http://" +
                                       metrics_address_ + "/metrics', timeout=5).read().decode())"},
                                  file("scrape.err"), 10s);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  }
  // The value of one series of the page ("" when it is not there); labels as prometheus-cpp writes them.
  static std::string value_of(const std::string& page, const std::string& series) {
    std::smatch m;
    if (!std::regex_search(page, m, std::regex("\n" + quoted(series) + " ([0-9.e+-]+)\n"))) return "";
    return m[1];
  }
  static std::string address_series(int index, int port) {
    return "cardperso_dtd_ads_address{address=\"" + local(port) + "\",index=\"" + std::to_string(index) + "\"}";
  }
  std::string metrics_address_;

  std::vector<std::string> keypad(int cards) {
    std::vector<std::string> keys = {kPin};
    for (int i = 0; i < cards; ++i)
      for (const auto& k : new_card_keys()) keys.push_back(k);
    return keys;
  }

  std::unique_ptr<ChildProcess> other_ads_, restarted_ads_;
};

TEST_F(AdsFailover, AClosedFirstAddressIsPassedOverForTheNextOne) {
  const auto iccids = standard_stock(1);
  const int dead = closed_port();
  ASSERT_GT(dead, 0);
  const int ads_port = start_ads({"--profile", profile_path_});
  ASSERT_GT(ads_port, 0);
  // The closed port first: start_dtd gives it as the first --ads, the running ADS follows.
  dtd_port_ = start_dtd(dead, "", true,
                        {"--ads", local(ads_port), "--customer", customer_file("Alice Example", "1990-02-28"),
                         "--receipt-dir", receipt_dir_, "--exit-after-last"});
  ASSERT_GT(dtd_port_, 0);
  EXPECT_TRUE(dtd_logged("ADS unreachable at " + quoted(local(dead)) + ": .*; trying " + quoted(local(ads_port)) + "\n",
                         1s))
      << dtd_log();
  EXPECT_TRUE(dtd_logged("connected to ADS at " + quoted(local(ads_port)) + "\n", 1s)) << dtd_log();

  retailer_sim_ = start_card(retailer_image_, 0);
  ASSERT_NE(retailer_sim_, nullptr);
  SteOptions keys;
  keys.keypad = keypad(1);
  start_ste(dtd_port_, keys);
  remove_retailer_card();
  auto* card = insert_customer_card(card_image("cards", iccids[0]), 1);
  ASSERT_NE(card, nullptr);
  const std::string msisdn = personalised(card);
  ASSERT_FALSE(msisdn.empty());
  expect_session_completed();
  EXPECT_EQ(card_row(iccids[0]).state, "personalised");
  const auto recs = records(iccids[0]);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].msisdn, msisdn);
}

TEST_F(AdsFailover, TwoServersOnOneDatabaseFailOverMidSessionAndFailBackWhenIdle) {
  const auto iccids = standard_stock(2);
  const int port_a = start_ads({"--profile", profile_path_});
  ASSERT_GT(port_a, 0);
  const int port_b = start_more_ads(other_ads_, "ads-b", 0, file("ads-b.log"));
  ASSERT_GT(port_b, 0);
  // Two customers: the second request is sent when the first card is done, and must survive A's death.
  dtd_port_ = start_dtd(port_a, "", true,
                        {"--ads", local(port_b), "--ads-failback-s", "1", "--customer",
                         customer_file("Alice Example", "1990-02-28"), "--customer",
                         customer_file("Bob Example", "1985-12-01"), "--receipt-dir", receipt_dir_,
                         "--metrics-listen", "0"});
  ASSERT_GT(dtd_port_, 0);
  EXPECT_TRUE(dtd_logged("connected to ADS at " + quoted(local(port_a)) + "\n", 1s)) << dtd_log();

  // Card 1 via A.
  retailer_sim_ = start_card(retailer_image_, 0);
  ASSERT_NE(retailer_sim_, nullptr);
  SteOptions keys;
  keys.keypad = keypad(2);
  start_ste(dtd_port_, keys);
  remove_retailer_card();
  auto* first = insert_customer_card(card_image("cards", iccids[0]), 1);
  ASSERT_NE(first, nullptr);
  const std::string msisdn1 = personalised(first);
  ASSERT_FALSE(msisdn1.empty());

  // The session waits for card 2 (Bob's request went to A): A dies.
  ASSERT_TRUE(wait_display_count("Insert customer card", 2, 30s)) << display_text();
  ads_->kill_now();
  EXPECT_TRUE(dtd_logged("ADS link lost: .*; reconnecting", 10s)) << dtd_log();
  EXPECT_TRUE(dtd_logged("ADS unreachable at " + quoted(local(port_a)) + ": .*; trying " + quoted(local(port_b)) + "\n",
                         10s))
      << dtd_log();
  EXPECT_TRUE(dtd_logged("connected to ADS at " + quoted(local(port_b)) + "\n", 10s)) << dtd_log();
  std::string page = scrape();
  EXPECT_EQ(value_of(page, "cardperso_dtd_ads_failovers_total"), "1") << page;
  EXPECT_EQ(value_of(page, address_series(0, port_a)), "0") << page;
  EXPECT_EQ(value_of(page, address_series(1, port_b)), "1") << page;
  // The terminal was told its session is gone; it ends.
  EXPECT_TRUE(ste().wait_exit(30s).has_value()) << display_text();

  // The retailer signs on again; the DTD sends Bob's request again, now to B; card 2 via B.
  reinsert(retailer_sim_);
  keys.keypad = keypad(1);
  start_ste(dtd_port_, keys);
  remove_retailer_card();
  auto* second = insert_customer_card(card_image("cards", iccids[1]), 1);
  ASSERT_NE(second, nullptr);
  const std::string msisdn2 = personalised(second);
  ASSERT_FALSE(msisdn2.empty());
  // Every request served: the desk ends the session (no --exit-after-last: the DTD stays up).
  EXPECT_EQ(ste().wait_exit(40s), 0) << display_text();
  EXPECT_TRUE(displayed("Session ended")) << display_text();

  // Which ADS process wrote which card: each server logs the cards it personalised.
  const auto a = records(iccids[0]);
  const auto b = records(iccids[1]);
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(a[0].msisdn, msisdn1);
  EXPECT_EQ(b[0].msisdn, msisdn2);
  EXPECT_NE(a[0].session_id, b[0].session_id);
  const std::string card1 = "card " + iccids[0] + " personalised: msisdn " + msisdn1;
  const std::string card2 = "card " + iccids[1] + " personalised: msisdn " + msisdn2;
  EXPECT_NE(ads_log().find(card1), std::string::npos) << "card 1 in A's log";
  EXPECT_EQ(ads_log().find(card2), std::string::npos) << "card 2 not in A's log";
  const std::string log_b = read_text_file(file("ads-b.log"));
  EXPECT_NE(log_b.find(card2), std::string::npos) << "card 2 in B's log\n" << log_b;
  EXPECT_EQ(log_b.find(card1), std::string::npos) << "card 1 not in B's log";
  for (const auto& iccid : iccids) EXPECT_EQ(card_row(iccid).state, "personalised");

  // A comes back on its port; no session is open: the DTD moves its link there within ~1 s.
  const auto restarted_at = std::chrono::steady_clock::now();
  ASSERT_EQ(start_more_ads(restarted_ads_, "ads-a-restarted", port_a, file("ads-a-restarted.log")), port_a);
  EXPECT_TRUE(dtd_logged("failing back to the ADS at " + quoted(local(port_a)), 10s)) << dtd_log();
  const auto took = std::chrono::steady_clock::now() - restarted_at;
  EXPECT_LT(took, 5s) << "fail-back period 1 s";
  EXPECT_TRUE(wait_for_log(file("ads-a-restarted.log"), std::regex("connected .*it calls itself 'e2e-dtd'"), 5s).has_value())
      << read_text_file(file("ads-a-restarted.log"));
  page = scrape();
  EXPECT_EQ(value_of(page, "cardperso_dtd_ads_failbacks_total"), "1") << page;
  EXPECT_EQ(value_of(page, "cardperso_dtd_ads_failovers_total"), "1") << page;
  EXPECT_EQ(value_of(page, address_series(0, port_a)), "1") << page;
  EXPECT_EQ(value_of(page, address_series(1, port_b)), "0") << page;
  // The DTD keeps one link: B sees it go.
  EXPECT_TRUE(wait_for_log(file("ads-b.log"), std::regex("disconnected"), 5s).has_value())
      << read_text_file(file("ads-b.log"));
}

}  // namespace
