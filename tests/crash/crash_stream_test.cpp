// Crash safety of the ADS (docs/security.md §Crash safety): shops personalise continuously while
// ads-server is killed with SIGKILL at 50+ seeded pseudo-random moments and restarted on the same
// database each time. Afterwards the database must be sound, the audit chain whole, no card left in
// progress, every card a shop saw completed recorded as personalised with what is really on it, and
// every IMSI/MSISDN on at most one card (read from every card) and allocated to it, or free; no card
// spoiled: every interrupted card is personalised on its retry (docs/personalisation.md §5).
//
// CARDPERSO_CRASH_SEED=<n> replays a run's kill moments (the seed is printed); CARDPERSO_CRASH_KILLS
// changes the number of kills (at least 50 are required to pass).
//
// With CARDPERSO_TEST_PG the ADS runs on PostgreSQL; with CARDPERSO_CRASH_SERVERS=2 as well, two
// ads-server processes share that database, the shops prefer one each and fail over, and only the
// first process is killed (at least 30 times): the same checks hold, the shops that prefer it fail
// over to the other and come back, and both daemons complete sessions.
#include <gtest/gtest.h>

#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <random>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cardperso/cardsim/card_image.hpp"
#include "crash_checks.hpp"
#include "crash_stream.hpp"
#include "cardperso/testing/run_program.hpp"
#include "cardperso/testing/scratch_postgres.hpp"
#include "fixture.hpp"

namespace cardperso::crash {
namespace {

constexpr std::size_t kShops = 4;
constexpr std::size_t kBlankCardsPerShop = 1500;  // more than a run uses: a shop out of cards fails the test
constexpr std::size_t kRequiredKills = 50;
constexpr std::size_t kRequiredKillsOfOneOfSeveral = 30;
constexpr std::size_t kRequiredPhases = 5;

std::uint64_t env_number(const char* name, std::uint64_t fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  return std::stoull(v);
}

std::string make_work_dir() {
  std::string dir = (std::filesystem::temp_directory_path() / "cardperso-crash-XXXXXX").string();
  if (mkdtemp(dir.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return dir;
}

bool protocol_phase(Phase p) { return p != Phase::Connect && p != Phase::Between; }

TEST(CrashSafety, SigkillTheAdsDuringAStreamOfPersonalisations) {
  const std::uint64_t seed = env_number("CARDPERSO_CRASH_SEED", std::random_device{}());
  const std::size_t servers = env_number("CARDPERSO_CRASH_SERVERS", 1);
  const std::size_t kills = env_number("CARDPERSO_CRASH_KILLS", servers > 1 ? 35 : 55);
  const std::size_t required_kills = servers > 1 ? kRequiredKillsOfOneOfSeveral : kRequiredKills;
  std::cout << "crash test seed " << seed << " (CARDPERSO_CRASH_SEED to replay), " << kills << " kills" << std::endl;
  RecordProperty("seed", std::to_string(seed));
  spdlog::set_level(spdlog::level::warn);  // the shops' STE and DTD cores log every card at info

  const std::string dir = make_work_dir();
  bench::FixturePlan fp;
  fp.adsctl = CARDPERSO_CRASH_ADSCTL;
  fp.dir = dir;
  // With CARDPERSO_TEST_PG (the cluster fixture), the same run on PostgreSQL: a database of its own.
  std::optional<testing::ScratchPostgresDatabase> pg;
  if (const auto base = testing::postgres_base_url(); !base.empty()) {
    pg.emplace(base);
    fp.db = pg->url();
    std::cout << "on PostgreSQL" << std::endl;
  }
  fp.retailers = kShops;
  fp.shops = kShops;
  fp.blank_cards_per_shop = kBlankCardsPerShop;
  auto fixture = bench::make_fixture(fp);
  ASSERT_TRUE(fixture.ok()) << fixture.error().message;

  StreamPlan plan;
  plan.server_argv = {CARDPERSO_CRASH_ADS_SERVER, "--db",         fixture->db_path,        "--master-key",
                      fixture->key_path,          "--profile",    CARDPERSO_CRASH_PROFILE, "--log-level",
                      "error",                    "--max-connections", "64"};
  // Four shops reconnecting after every kill and after every refused retry are far busier than real
  // ones: the per-source hello limit (when this server has it) would slow them down, not the ADS.
  if (auto help = testing::run_to_success({CARDPERSO_CRASH_ADS_SERVER, "--help"}, std::chrono::seconds(30));
      help && help->find("--hello-rate") != std::string::npos)
    plan.server_argv.insert(plan.server_argv.end(), {"--hello-rate", "0"});
  // Likewise a kill-and-retry stream starts far more handshakes a minute on a link than a shop does.
  if (auto help = testing::run_to_success({CARDPERSO_CRASH_ADS_SERVER, "--help"}, std::chrono::seconds(30));
      help && help->find("--max-handshakes-per-link-minute") != std::string::npos)
    plan.server_argv.insert(plan.server_argv.end(), {"--max-handshakes-per-link-minute", "0"});
  plan.batch_secret = fixture->batch_secret;
  plan.servers = servers;
  plan.seed = seed;
  plan.kills = kills;
  for (const auto& s : fixture->shops) {
    auto image = cardsim::load_image(s.retailer_image);
    ASSERT_TRUE(image.ok()) << image.error().message;
    plan.shops.push_back(ShopStock{std::move(*image), s.retailer_pin, s.iccid_prefix, s.first_serial, s.blank_cards});
  }

  const StreamReport run = run_crash_stream(plan);
  ASSERT_TRUE(run.fatal.empty()) << run.fatal;

  // What the kills hit.
  std::map<Phase, std::size_t> hits;
  std::set<Phase> protocol_phases;
  for (const auto& k : run.kills)
    for (Phase p : k.shops) {
      ++hits[p];
      if (protocol_phase(p)) protocol_phases.insert(p);
    }
  std::string phases_text;
  for (const auto& [p, n] : hits) phases_text += fmt::format("{}{} {}", phases_text.empty() ? "" : ", ", name(p), n);
  std::string errors_text;
  for (const auto& [kind, n] : run.errors) errors_text += fmt::format(" {} {}", kind, n);
  std::cout << fmt::format(
                   "{} kills in {:.1f} s (restarts {:.1f} s in all); shop phases at the kills: {}\n"
                   "sessions: {} completed, {} broken (by kind:{}); cards: {} completed at the shops, {} interrupted, "
                   "{} retried\n",
                   run.kills.size(), run.seconds, run.restart_seconds, phases_text, run.sessions_ok,
                   run.sessions_broken, errors_text, run.completed.size(), run.interrupted.size(), run.retried.size())
            << std::flush;
  for (const auto& e : run.first_errors) std::cout << "  e.g. " << e << "\n";

  EXPECT_GE(run.kills.size(), required_kills);
  if (servers > 1) {
    // Shop i prefers server i % servers; server 0 is the one killed.
    std::size_t failovers_of_victims = 0, failbacks_of_victims = 0;
    for (std::size_t i = 0; i < run.failovers.size(); ++i) {
      if (i % servers != 0) continue;
      failovers_of_victims += run.failovers[i];
      failbacks_of_victims += run.failbacks[i];
    }
    std::string per_server;
    for (std::size_t s = 0; s < run.sessions_by_server.size(); ++s)
      per_server += fmt::format("{}server {} {}", s ? ", " : "", s + 1, run.sessions_by_server[s]);
    std::cout << fmt::format("{} servers; sessions completed per server: {}; the shops that prefer the killed one "
                             "failed over {} times and came back {} times\n",
                             servers, per_server, failovers_of_victims, failbacks_of_victims);
    EXPECT_GT(failovers_of_victims, 0U) << "the shops of the killed server never failed over";
    EXPECT_GT(failbacks_of_victims, 0U) << "the shops of the killed server never came back to it";
    for (std::size_t s = 0; s < run.sessions_by_server.size(); ++s)
      EXPECT_GT(run.sessions_by_server[s], 0U) << "server " << s + 1 << " completed no session";
  }
  EXPECT_GE(protocol_phases.size(), kRequiredPhases) << "the kills hit too few protocol phases: " << phases_text;
  for (const auto& e : run.final_errors) ADD_FAILURE() << "after the last kill: " << e;
  EXPECT_EQ(run.final_sessions_ok, kShops * plan.final_sessions);
  EXPECT_TRUE(run.server_stopped_cleanly) << "SIGTERM after the stream: " << run.server_stop_error;
  EXPECT_GE(run.completed.size(), kShops * plan.final_sessions * plan.cards_per_session);

  // What the ADS kept.
  const StoreCheck check = check_store({fixture->db_path, fixture->key_path, CARDPERSO_CRASH_ADSCTL}, run);
  std::string states;
  for (const auto& [state, n] : check.card_states) states += fmt::format(" {} {}", state, n);
  std::string retried;
  for (const auto& [state, n] : check.retried_states) retried += fmt::format(" {} {}", state, n);
  std::cout << fmt::format("cards in the ADS:{}; {} personalised cards checked (IMSI, MSISDN, RUN GSM); "
                           "the retried cards ended:{}\n",
                           states, check.personalised_checked, retried);
  for (const auto& p : check.pools)
    std::cout << fmt::format("{} pool: size {}, committed {}, released {}, never used {}, reserved {}, retired {}\n",
                             p.kind, p.size, p.committed, p.released, p.never_used, p.reserved, p.retired);
  std::cout << fmt::format(
      "unrecorded cards carrying an IMSI (script reached the card, ADS died before recording it): {}, of whose "
      "IMSIs {} now belong to a personalised card\n",
      check.unrecorded_cards_with_imsi, check.unrecorded_imsi_reused);
  std::cout << fmt::format("numbers read from every card: {} (on two cards: {}); on spoiled cards {}, retired {}\n",
                           check.numbers_on_cards, check.numbers_on_two_cards, check.numbers_on_spoiled_cards,
                           check.retired_numbers);
  // Every interrupted card is recoverable: none spoiled, no number physically on two cards.
  EXPECT_EQ(check.card_states.count("spoiled") ? check.card_states.at("spoiled") : 0, 0u);
  EXPECT_EQ(check.unrecorded_imsi_reused, 0u);
  EXPECT_EQ(check.numbers_on_two_cards, 0u);
  EXPECT_EQ(check.numbers_on_spoiled_cards, check.retired_numbers);
  for (const auto& p : check.problems) ADD_FAILURE() << p;
  EXPECT_EQ(check.personalised_checked, check.card_states.count("personalised") ? check.card_states.at("personalised") : 0);

  if (!HasFailure()) {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  } else {
    std::cout << "kept for investigation: " << dir << "\n";
  }
}

}  // namespace
}  // namespace cardperso::crash
