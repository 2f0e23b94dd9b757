#include "attack_fixture.hpp"

#include <sqlite3.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

namespace cardperso::attack {

namespace {

using namespace std::chrono_literals;

std::string column(sqlite3_stmt* stmt, int i) {
  switch (sqlite3_column_type(stmt, i)) {
    case SQLITE_NULL: return "NULL";
    case SQLITE_BLOB: {
      const auto* data = static_cast<const std::uint8_t*>(sqlite3_column_blob(stmt, i));
      return "x" + to_hex(ByteView(data, static_cast<std::size_t>(sqlite3_column_bytes(stmt, i))));
    }
    default: {
      const unsigned char* text = sqlite3_column_text(stmt, i);
      return text != nullptr ? reinterpret_cast<const char*>(text) : "";
    }
  }
}

// Every row of a query as "a|b|c" strings; a failure fails the test.
std::vector<std::string> query_rows(sqlite3* db, const std::string& sql) {
  std::vector<std::string> rows;
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << "ADS database: " << sql << ": " << sqlite3_errmsg(db);
    return rows;
  }
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    std::string row;
    for (int i = 0; i < sqlite3_column_count(stmt); ++i) row += (i ? "|" : "") + column(stmt, i);
    rows.push_back(std::move(row));
  }
  if (rc != SQLITE_DONE) ADD_FAILURE() << "ADS database: " << sql << ": sqlite code " << rc;
  sqlite3_finalize(stmt);
  return rows;
}

}  // namespace

int AttackFixture::open_shop(ShopOptions options) {
  image_ = enrol(kSerial, options.enrol_terminal);
  insert_card(image_);
  if (options.records) options.records();
  if (HasFailure()) return 0;
  before_ = snapshot();
  std::vector<std::string> ads_args = {"--handshake-timeout-ms", "5000"};
  ads_args.insert(ads_args.end(), options.ads_args.begin(), options.ads_args.end());
  ads_port_ = start_ads(ads_args);
  if (ads_port_ <= 0) return 0;
  int dtd_target = ads_port_;
  if (options.ads_link) {
    ads_relay_ = std::make_unique<FrameProxy>(ads_port_, std::move(options.ads_link));
    dtd_target = ads_relay_->port();
  }
  dtd_port_ = start_dtd(dtd_target, e2e::random_marker("DTDMARKER-"));
  if (dtd_port_ <= 0) return 0;
  if (options.ste_link) {
    ste_relay_ = std::make_unique<FrameProxy>(dtd_port_, std::move(options.ste_link));
    return ste_relay_->port();
  }
  return dtd_port_;
}

e2e::SteOptions AttackFixture::ste_options(int response_timeout_ms) const {
  e2e::SteOptions o;
  o.echo_test = e2e::random_marker("STEMARKER-");
  o.extra_args = {"--response-timeout-ms", std::to_string(response_timeout_ms)};
  return o;
}

Snapshot AttackFixture::snapshot() {
  Snapshot s;
  s.card_image = e2e::read_text_file(image_);
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(db_.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << "cannot open the ADS database " << db_;
    sqlite3_close(db);
    return s;
  }
  sqlite3_busy_timeout(db, 5000);
  // A legitimately counted failure changes only failed_auth_count, first_failure_at, updated_at.
  s.tables["retailers"] = query_rows(
      db, "SELECT serial, status, key_version, hex(sealed_keys), hex(sealed_issuer_code), created_at FROM retailers "
          "ORDER BY serial");
  for (const auto& name : query_rows(db, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN "
                                         "('sessions', 'audit_log', 'retailers') AND name NOT LIKE 'sqlite_%' "
                                         "ORDER BY name"))
    s.tables[name] = query_rows(db, "SELECT * FROM \"" + name + "\" ORDER BY 1");
  sqlite3_close(db);
  return s;
}

std::optional<std::string> AttackFixture::log_match(const std::string& path, const std::string& re, Millis timeout) {
  auto m = wait_for_log(path, std::regex(re), timeout);
  if (!m) return std::nullopt;
  return m->at(0);
}

void AttackFixture::check_outcome(const Expect& expected, std::size_t first_row) {
  if (!ste_runs_.empty()) {
    const auto code = ste().wait_exit(30s);
    if (expected.ste_exit) {
      EXPECT_EQ(code, expected.ste_exit) << display_text();
    }
    std::string refusal = "(none)";
    for (const auto& t : display())
      if (t.rfind("Refused:", 0) == 0 || t == "Session ended") refusal = t;
    observe("STE exit " + (code ? std::to_string(*code) : std::string("(running)")) + ", shows `" + refusal + "`");
    if (!expected.ste_display.empty()) {
      EXPECT_TRUE(displayed(expected.ste_display)) << "STE should show '" << expected.ste_display << "'\n"
                                                   << display_text();
    }
  }
  if (!expected.ads_log.empty()) {
    auto m = log_match(ads_log_, expected.ads_log, 15s);
    EXPECT_TRUE(m) << "the ADS log does not match /" << expected.ads_log << "/:\n" << ads_log();
    observe("ADS: `" + m.value_or("(no match)") + "`");
  }
  if (!expected.dtd_log.empty()) {
    auto m = log_match(dtd_log_, expected.dtd_log, 15s);
    EXPECT_TRUE(m) << "the DTD log does not match /" << expected.dtd_log << "/:\n" << dtd_log();
    observe("DTD: `" + m.value_or("(no match)") + "`");
  }
  EXPECT_TRUE(wait_no_open_session(20s)) << "a session row is still open";
  const auto rows = sessions();
  if (expected.no_session) {
    EXPECT_EQ(rows.size(), first_row) << "the ADS opened a session although the attack never reached it";
  }
  std::size_t attacked = 0;
  std::string outcomes;
  for (std::size_t i = first_row; i < rows.size(); ++i) {
    ++attacked;
    EXPECT_NE(rows[i].outcome.value_or("(open)"), "completed")
        << "attacked session row " << rows[i].id << " completed (" << rows[i].reason << ")";
    outcomes += (outcomes.empty() ? "" : ", ") + rows[i].outcome.value_or("open");
  }
  observe("session rows: " + (attacked == 0 ? std::string("none") : outcomes));
  const auto failures = failed_auth_count(kSerial);
  EXPECT_EQ(failures, expected.failures) << "retailers.failed_auth_count";
  const Snapshot after = snapshot();
  EXPECT_EQ(after.card_image, before_.card_image) << "the retailer card image changed";
  for (const auto& [table, rows_before] : before_.tables) {
    auto it = after.tables.find(table);
    EXPECT_TRUE(it != after.tables.end() && it->second == rows_before) << "table " << table << " changed";
  }
  EXPECT_EQ(after.tables.size(), before_.tables.size());
  const bool same = after.card_image == before_.card_image && after.tables == before_.tables;
  observe(std::string(same ? "card and DB unchanged" : "CHANGED") + ", failed_auth_count " + std::to_string(failures) +
          (expected.failures > 0 ? " (legitimately counted)" : ""));
}

void AttackFixture::describe(std::string attack, std::string where, std::string expected) {
  row_.attack = std::move(attack);
  row_.where = std::move(where);
  row_.expected = std::move(expected);
}

void AttackFixture::observe(std::string what) { row_.observed.push_back(std::move(what)); }

void AttackFixture::fired(std::string what) {
  std::lock_guard lock(fired_mutex_);
  fired_.push_back(std::move(what));
}

std::vector<std::string> AttackFixture::fired_notes() const {
  std::lock_guard lock(fired_mutex_);
  return fired_;
}

std::size_t AttackFixture::fired_count() const { return fired_notes().size(); }

void AttackFixture::TearDown() {
  write_security_row(row_, ::testing::UnitTest::GetInstance()->current_test_info()->name(), HasFailure());
  ste_relay_.reset();
  ads_relay_.reset();
  SecureSessionFixture::TearDown();
}

}  // namespace cardperso::attack
