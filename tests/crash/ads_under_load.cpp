#include "ads_under_load.hpp"

#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include <spdlog/spdlog.h>

#include "cardperso/cardsim/card_image.hpp"

namespace cardperso::crash {

using namespace std::chrono_literals;

void AdsUnderLoadTest::set_up(const std::string& name, std::size_t blank_cards) {
  spdlog::set_level(spdlog::level::warn);  // the shops' STE and DTD cores log every card at info
  dir_ = (std::filesystem::temp_directory_path() / ("cardperso-" + name + "-XXXXXX")).string();
  ASSERT_NE(mkdtemp(dir_.data()), nullptr) << "mkdtemp failed";
  bench::FixturePlan fp;
  fp.adsctl = CARDPERSO_CRASH_ADSCTL;
  fp.dir = dir_;
  fp.blank_cards_per_shop = blank_cards;
  auto fixture = bench::make_fixture(fp);
  ASSERT_TRUE(fixture.ok()) << fixture.error().message;
  fixture_ = std::move(*fixture);
}

void AdsUnderLoadTest::TearDown() {
  server_.reset();
  if (HasFailure()) {
    std::cout << "kept for investigation: " << dir_ << std::endl;
  } else if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

void AdsUnderLoadTest::start_server(const std::vector<std::string>& extra) {
  std::vector<std::string> argv = {CARDPERSO_CRASH_ADS_SERVER, "--db", fixture_.db_path, "--master-key",
                                   fixture_.key_path, "--listen", "127.0.0.1:0", "--profile", CARDPERSO_CRASH_PROFILE,
                                   "--log-level", "warn", "--log-file", dir_ + "/ads.log", "--hello-rate", "0"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  auto s = testing::ListeningChild::start(argv, 30s, 10s, "ads-server");
  ASSERT_TRUE(s) << s.error().message;
  server_.emplace(std::move(*s));
}

bench::LoadPlan AdsUnderLoadTest::load_plan(std::size_t cards) {
  bench::LoadPlan plan;
  plan.mode = bench::LoadMode::Personalise;
  plan.ads = {server_->endpoint()};
  plan.server_pid = server_->pid();
  plan.sessions = cards;
  plan.cards_per_session = 1;
  plan.warmup = 0ms;
  plan.progress = false;
  plan.batch_secret = fixture_.batch_secret;
  for (const auto& s : fixture_.shops) {
    auto image = cardsim::load_image(s.retailer_image);
    if (!image) throw std::runtime_error(image.error().message);
    plan.shops.push_back(
        bench::ShopSetup{std::move(*image), s.retailer_pin, s.iccid_prefix, s.first_serial, s.blank_cards});
  }
  return plan;
}

void AdsUnderLoadTest::personalise(std::size_t cards) {
  const auto load = bench::run_load(load_plan(cards));
  ASSERT_EQ(load.cards_ok, cards) << (load.first_errors.empty() ? "" : load.first_errors[0]);
}

testing::SqlRows AdsUnderLoadTest::sql(const std::string& text, const std::string& db) const {
  const std::string path = db.empty() ? fixture_.db_path : db;
  sqlite3* handle = nullptr;
  testing::SqlRows rows;
  if (sqlite3_open_v2(path.c_str(), &handle, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    rows.error = "cannot open " + path;
  } else {
    sqlite3_busy_timeout(handle, 5000);
    rows = testing::query_rows(handle, text);
  }
  sqlite3_close(handle);
  return rows;
}

long long AdsUnderLoadTest::number(const std::string& text, const std::string& db) const {
  auto rows = sql(text, db);
  if (!rows.error.empty() || rows.rows.empty() || rows.rows[0].empty() || !rows.rows[0][0]) return -1;
  return std::stoll(*rows.rows[0][0]);
}

testing::RunResult AdsUnderLoadTest::adsctl(std::vector<std::string> args, const std::string& db) const {
  std::vector<std::string> argv = {CARDPERSO_CRASH_ADSCTL};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.insert(argv.end(), {"--db", db.empty() ? fixture_.db_path : db, "--master-key", fixture_.key_path});
  return testing::run_program(argv, dir_ + "/adsctl.err", 120s);
}

std::string AdsUnderLoadTest::ads_log() const {
  std::ifstream in(dir_ + "/ads.log");
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace cardperso::crash
