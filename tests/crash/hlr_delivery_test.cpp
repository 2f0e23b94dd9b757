// HLR delivery survives an HLR that is down and an ADS that is killed (docs/operations.md, "Connecting
// the ADS to the HLR"), against a real osmo-hlr 1.5.0:
//   1. osmo-hlr stopped while 20 cards are personalised (the load generator's shops against the real
//      ads-server): the jobs wait, the backlog is visible and logged; osmo-hlr started: every
//      subscriber arrives, exactly once, with the record's IMSI, MSISDN, K and OPc.
//   2. a new, empty HLR and `adsctl hlr sync`; ads-server SIGKILLed at random moments while it delivers
//      (at least 20 kills with jobs still waiting), restarted each time: same result.
// No K or OPc in any log of the run.
// Runs in its own network namespace (osmo-hlr's ports are fixed). CARDPERSO_CRASH_SEED replays a run.
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <thread>

#include <spdlog/spdlog.h>

#include "cardperso/ads/store/audit_log.hpp"
#include "cardperso/ads/store/card_records.hpp"
#include "cardperso/ads/store/migrations.hpp"
#include "ads_under_load.hpp"
#include "cardperso/testing/osmo_hlr_process.hpp"

namespace cardperso::crash {
namespace {

using namespace std::chrono_literals;
using testing::Millis;

constexpr std::size_t kCards = 20;
constexpr std::size_t kRequiredKills = 20;
const std::string kHlrCtrl = "127.0.0.1:4259";

class HlrDelivery : public AdsUnderLoadTest {
 protected:
  void SetUp() override {
    const char* seed_text = std::getenv("CARDPERSO_CRASH_SEED");
    seed_ = seed_text && *seed_text ? std::stoull(seed_text) : std::random_device{}();
    std::cout << "HLR crash test seed " << seed_ << " (CARDPERSO_CRASH_SEED to replay)" << std::endl;
    ASSERT_NO_FATAL_FAILURE(set_up("hlr-crash", kCards + 5));
    std::filesystem::create_directories(dir_ + "/hlr");
    hlr_ = std::make_unique<testing::OsmoHlr>(dir_ + "/hlr");
  }
  void TearDown() override {
    server_.reset();
    if (HasFailure() && hlr_) std::cout << "osmo-hlr log:\n" << hlr_->log_tail(30) << "\n";
    hlr_.reset();
    AdsUnderLoadTest::TearDown();
  }

  // The server with the HLR link: quick retries, so the test does not wait on back-offs.
  void start_server(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"--hlr-ctrl", kHlrCtrl, "--hlr-retry-ms", "100", "--hlr-retry-max-ms", "400",
                                     "--hlr-poll-ms", "100"};
    args.insert(args.end(), extra.begin(), extra.end());
    AdsUnderLoadTest::start_server(args);
  }
  long long pending() { return number("SELECT count(*) FROM hlr_jobs WHERE delivered_at IS NULL"); }
  long long delivered() { return number("SELECT count(*) FROM hlr_jobs WHERE delivered_at IS NOT NULL"); }

  bool wait_until(const std::function<bool()>& done, Millis timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(50ms);
    }
    return true;
  }

  // Every personalised card's subscriber is in the HLR exactly as its latest record says, and the HLR
  // holds nothing else.
  void expect_hlr_matches_records(std::size_t expected = kCards) {
    auto db = ads::open_ads_database(fixture_.db_path, ads::OpenMode::MustExist);
    ASSERT_TRUE(db) << db.error().message;
    auto key = ads::MasterKey::load_file(fixture_.key_path);
    ASSERT_TRUE(key) << key.error().message;
    ads::AuditLog audit(*db, *key);
    ads::CardRecords records(*db, *key, audit, "test");
    auto subscribers = hlr_->subscribers();
    ASSERT_TRUE(subscribers) << subscribers.error().message;
    std::map<std::string, testing::HlrSubscriber> by_imsi;
    for (const auto& s : *subscribers) EXPECT_TRUE(by_imsi.emplace(s.imsi, s).second) << "IMSI twice: " << s.imsi;
    const auto cards = sql("SELECT iccid FROM cards WHERE state = 'personalised' ORDER BY iccid");
    ASSERT_TRUE(cards.error.empty()) << cards.error;
    EXPECT_EQ(cards.rows.size(), expected);
    EXPECT_EQ(subscribers->size(), cards.rows.size());
    std::size_t matched = 0;
    for (const auto& row : cards.rows) {
      const std::string iccid = *row[0];
      auto history = records.history(iccid);
      ASSERT_TRUE(history && !history->empty()) << iccid;
      const auto& latest = history->back();
      auto keys = records.keys_of(iccid, latest.version);
      ASSERT_TRUE(keys) << keys.error().message;
      auto it = by_imsi.find(latest.imsi);
      if (it == by_imsi.end()) {
        ADD_FAILURE() << "card " << iccid << " (IMSI " << latest.imsi << ") is not in the HLR";
        continue;
      }
      EXPECT_EQ(it->second.msisdn, latest.msisdn) << iccid;
      EXPECT_EQ(it->second.algo_id_3g, 5) << iccid;
      // Compared as booleans: a failure must not print the keys.
      EXPECT_TRUE(it->second.k_hex == to_hex(keys->ki.view())) << "K of " << iccid << " differs";
      EXPECT_TRUE(it->second.opc_hex == to_hex(keys->opc.view())) << "OPc of " << iccid << " differs";
      EXPECT_TRUE(it->second.nam_cs && it->second.nam_ps) << iccid;
      for (const auto* secret : {&keys->ki, &keys->opc}) secrets_.insert(to_hex(secret->view()));
      ++matched;
    }
    EXPECT_EQ(matched, expected);
    auto verified = audit.verify();
    ASSERT_TRUE(verified) << verified.error().message;
    EXPECT_TRUE(verified->intact()) << verified->problem;
  }
  // Each job delivered is recorded once: one audit entry per job, never two.
  void expect_each_delivery_recorded_once() {
    const auto rows = sql("SELECT detail FROM audit_log WHERE event = 'hlr_provisioned'");
    ASSERT_TRUE(rows.error.empty()) << rows.error;
    std::map<std::string, int> per_job;
    for (const auto& r : rows.rows) {
      const std::string detail = r[0].value_or("");
      per_job[detail.substr(0, detail.find(' '))]++;
    }
    for (const auto& [job, n] : per_job) EXPECT_EQ(n, 1) << job << " recorded " << n << " times";
    EXPECT_EQ(static_cast<long long>(per_job.size()),
              number("SELECT count(*) FROM hlr_jobs WHERE delivered_at IS NOT NULL AND action = 'provision'"));
    EXPECT_EQ(pending(), 0);
  }

  // No K or OPc (hex, either case) in the ADS log, the adsctl outputs or osmo-hlr's log.
  void expect_no_key_in_logs() {
    std::vector<std::string> files = {dir_ + "/ads.log", dir_ + "/adsctl.err", hlr_->log_path()};
    for (const auto& path : files) {
      std::ifstream in(path);
      const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      std::string upper = text;
      for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      std::size_t found = 0;
      for (const auto& secret : secrets_) {
        std::string up = secret;
        for (auto& c : up) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        if (upper.find(up) != std::string::npos) ++found;
      }
      EXPECT_EQ(found, 0u) << found << " keys appear in " << path;  // never the keys themselves
    }
    std::cout << "secret scan: " << secrets_.size() << " keys looked for in " << files.size() << " logs" << std::endl;
  }

  std::set<std::string> secrets_;
  std::uint64_t seed_ = 0;
  std::unique_ptr<testing::OsmoHlr> hlr_;
};

TEST_F(HlrDelivery, AnHlrDownAndAnAdsKilledMidDeliveryLoseAndDoubleNothing) {
  // ---- 1. the HLR down while 20 cards are personalised ----
  ASSERT_TRUE(hlr_->start()) << hlr_->log_tail();
  ASSERT_TRUE(hlr_->stop());
  ASSERT_NO_FATAL_FAILURE(start_server());
  ASSERT_NO_FATAL_FAILURE(personalise(kCards));
  EXPECT_EQ(number("SELECT count(*) FROM hlr_jobs"), static_cast<long long>(kCards));
  ASSERT_TRUE(wait_until([&] { return number("SELECT count(*) FROM hlr_jobs WHERE attempts > 0") > 0; }, 10s));
  EXPECT_EQ(pending(), static_cast<long long>(kCards));
  auto status = adsctl({"hlr", "status"});
  EXPECT_NE(status.out.find("waiting      20 jobs"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("cannot connect to the HLR"), std::string::npos) << status.out;
  // The next try after the last card logs the whole backlog.
  EXPECT_TRUE(wait_until([&] { return ads_log().find("HLR not reachable") != std::string::npos &&
                                      ads_log().find("20 jobs waiting") != std::string::npos; },
                         5s))
      << ads_log();
  std::cout << "HLR down: 20 cards personalised, 20 jobs waiting" << std::endl;

  ASSERT_TRUE(hlr_->start()) << hlr_->log_tail();
  ASSERT_TRUE(wait_until([&] { return pending() == 0; }, 30s)) << pending() << " jobs still waiting";
  ASSERT_NO_FATAL_FAILURE(expect_hlr_matches_records());
  expect_each_delivery_recorded_once();
  ASSERT_TRUE(server_->stop());
  server_.reset();

  // ---- 2. a new HLR, every card queued again, the ADS killed while it delivers ----
  ASSERT_TRUE(hlr_->stop());
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(hlr_->db_path() + suffix);
  ASSERT_TRUE(hlr_->start()) << hlr_->log_tail();
  ASSERT_EQ(hlr_->subscriber_count().value(), 0u);
  auto sync = adsctl({"hlr", "sync"});
  ASSERT_EQ(sync.exit_code, 0) << sync.out;

  std::mt19937_64 rng(seed_);
  std::uniform_int_distribution<int> window_ms(20, 400);
  std::size_t kills = 0, syncs = 1, attempts = 0;
  const auto started = std::chrono::steady_clock::now();
  while (kills < kRequiredKills && attempts < 200) {
    ++attempts;
    if (pending() == 0) {  // all delivered before enough kills: queue everything again
      ASSERT_EQ(adsctl({"hlr", "sync"}).exit_code, 0);
      ++syncs;
    }
    // Five jobs a second: delivery takes a few seconds, so the kills land among the jobs.
    const long long delivered_before = delivered();
    ASSERT_NO_FATAL_FAILURE(start_server({"--hlr-max-rate", "5"}));
    std::this_thread::sleep_for(Millis(window_ms(rng)));
    const long long waiting = pending();
    ::kill(server_->pid(), SIGKILL);
    server_.reset();
    // Counted when this run was delivering (it delivered something) and jobs were still waiting.
    if (waiting > 0 && delivered() > delivered_before) ++kills;
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::cout << kills << " SIGKILLs during delivery in " << seconds << " s (" << attempts << " runs, " << syncs
            << " syncs); " << pending() << " jobs waiting after the last" << std::endl;
  EXPECT_GE(kills, kRequiredKills);
  ASSERT_NO_FATAL_FAILURE(start_server());
  ASSERT_TRUE(wait_until([&] { return pending() == 0; }, 60s)) << pending() << " jobs still waiting";
  ASSERT_NO_FATAL_FAILURE(expect_hlr_matches_records());
  expect_each_delivery_recorded_once();
  auto integrity = sql("PRAGMA integrity_check");
  ASSERT_FALSE(integrity.rows.empty());
  EXPECT_EQ(integrity.rows[0][0].value_or(""), "ok");
  ASSERT_TRUE(server_->stop());
  expect_no_key_in_logs();
}

// An HLR that refuses one subscriber (another subscriber there already has its MSISDN, as when the
// operator's old data was not cleaned up): that job waits with its reason, the other cards' jobs go
// through, and once the HLR allows it the job is delivered. Nothing is lost or repeated.
TEST_F(HlrDelivery, ARefusedSubscriberWaitsAloneAndGoesThroughOnceTheHlrAllows) {
  constexpr std::size_t kThree = 3;
  const std::string kForeignImsi = "999990000000001";
  ASSERT_TRUE(hlr_->start()) << hlr_->log_tail();
  ASSERT_TRUE(hlr_->stop());
  // The operator's own subscriber holding the first number of the issuer's MSISDN pool.
  const std::string first_msisdn = *sql("SELECT prefix || substr('000000000000000' || first, -width) FROM "
                                        "number_pools WHERE kind = 'msisdn' ORDER BY id LIMIT 1")
                                        .rows.at(0)
                                        .at(0);
  auto write_hlr = [&](const std::string& statement) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(hlr_->db_path().c_str(), &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    char* error = nullptr;
    EXPECT_EQ(sqlite3_exec(db, statement.c_str(), nullptr, nullptr, &error), SQLITE_OK) << (error ? error : "");
    sqlite3_free(error);
    sqlite3_close(db);
  };
  ASSERT_NO_FATAL_FAILURE(write_hlr("INSERT INTO subscriber (imsi, msisdn) VALUES ('" + kForeignImsi + "', '" +
                                    first_msisdn + "')"));
  ASSERT_TRUE(hlr_->start()) << hlr_->log_tail();
  ASSERT_NO_FATAL_FAILURE(start_server());
  ASSERT_NO_FATAL_FAILURE(personalise(kThree));

  // Jobs 2 and 3 are delivered; job 1 is refused with the HLR's reason and waits.
  ASSERT_TRUE(wait_until([&] { return delivered() == 2; }, 15s)) << delivered() << " delivered";
  ASSERT_TRUE(wait_until([&] { return number("SELECT attempts FROM hlr_jobs WHERE id = 1") >= 2; }, 15s));
  EXPECT_EQ(pending(), 1);
  const std::string error = sql("SELECT last_error FROM hlr_jobs WHERE id = 1").rows.at(0).at(0).value_or("");
  EXPECT_NE(error.find(".msisdn: Update MSISDN failed"), std::string::npos) << error;
  auto status = adsctl({"hlr", "status"});
  EXPECT_NE(status.out.find("waiting      1 jobs"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("Update MSISDN failed"), std::string::npos) << status.out;
  EXPECT_TRUE(wait_until([&] { return ads_log().find("refused: the HLR refused") != std::string::npos; }, 5s));

  // The operator frees the number; the next try delivers the job.
  ASSERT_NO_FATAL_FAILURE(write_hlr("DELETE FROM subscriber WHERE imsi = '" + kForeignImsi + "'"));
  ASSERT_TRUE(wait_until([&] { return pending() == 0; }, 15s)) << pending() << " jobs still waiting";
  EXPECT_GE(number("SELECT attempts FROM hlr_jobs WHERE id = 1"), 2);
  ASSERT_NO_FATAL_FAILURE(expect_hlr_matches_records(kThree));
  expect_each_delivery_recorded_once();
  ASSERT_TRUE(server_->stop());
  expect_no_key_in_logs();
}

}  // namespace
}  // namespace cardperso::crash
