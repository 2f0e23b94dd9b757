#pragma once
// The ground of the tests that run the real ads-server under the load generator's shops: a fresh
// database made with adsctl as an operator would (bench::make_fixture: one shop, its retailer card, a
// batch of blank SIMs, number pools) in a new temporary directory, the server as a process on it, the
// shop's personalisations run in this process (bench::run_load), and read-only looks at the database
// beside the running server. The directory is removed after a pass and kept after a failure.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "cardperso/testing/listening_child.hpp"
#include "cardperso/testing/run_program.hpp"
#include "cardperso/testing/sqlite_rows.hpp"
#include "fixture.hpp"
#include "load_run.hpp"

namespace cardperso::crash {

class AdsUnderLoadTest : public ::testing::Test {
 protected:
  // In SetUp: the work directory (/tmp/cardperso-<name>-XXXXXX) and the database with `blank_cards` SIMs.
  void set_up(const std::string& name, std::size_t blank_cards);
  void TearDown() override;

  // ads-server on the fixture's database, listening on a free port, logging warnings to <dir>/ads.log;
  // `extra` options appended.
  void start_server(const std::vector<std::string>& extra = {});
  bench::LoadPlan load_plan(std::size_t cards);
  // `cards` personalisations by the shop through the running server; fails the test unless all succeed.
  void personalise(std::size_t cards);

  // Read-only queries on a database (the fixture's by default), with a busy timeout.
  testing::SqlRows sql(const std::string& text, const std::string& db = {}) const;
  // The first column of the first row as a number; -1 when there is none.
  long long number(const std::string& text, const std::string& db = {}) const;
  // adsctl with --db (the fixture's by default) and the fixture's master key; stderr to <dir>/adsctl.err.
  testing::RunResult adsctl(std::vector<std::string> args, const std::string& db = {}) const;
  std::string ads_log() const;

  std::string dir_;
  bench::Fixture fixture_;
  std::optional<testing::ListeningChild> server_;
};

}  // namespace cardperso::crash
