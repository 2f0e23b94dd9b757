#include "secure_session_fixture.hpp"

#include <signal.h>
#include <sqlite3.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <thread>

#include "cardperso/cardsim/card_image.hpp"
#include "cardperso/common/crypto.hpp"
#include "run_secrets.hpp"

namespace cardperso::e2e {

namespace {

using Clock = std::chrono::steady_clock;

// The port a freshly started program prints after `what` ("listening on 127.0.0.1:PORT"); 0, and the
// test failed, when it does not.
int printed_port(ChildProcess& child, const std::string& what) {
  auto port = child.wait_for_line(std::regex("^" + what + R"( 127\.0\.0\.1:(\d+)$)"), Millis(15000));
  if (!port) {
    ADD_FAILURE() << child.name() << " did not print '" << what << " 127.0.0.1:PORT'";
    return 0;
  }
  return std::stoi(port->at(1));
}

std::string env_path(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : "";
}

const std::string kDisplayPrefix = "[STE] ";

// Reads rows with the sqlite3 C API while ads-server may be writing (WAL; 5 s busy timeout).
class DbReader {
 public:
  explicit DbReader(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << "cannot open the ADS database " << path << ": " << sqlite3_errmsg(db_);
      sqlite3_close(db_);
      db_ = nullptr;
      return;
    }
    sqlite3_busy_timeout(db_, 5000);
  }
  ~DbReader() { sqlite3_close(db_); }
  DbReader(const DbReader&) = delete;
  DbReader& operator=(const DbReader&) = delete;

  sqlite3_stmt* prepare(const char* sql) {
    sqlite3_stmt* stmt = nullptr;
    if (db_ == nullptr) return nullptr;
    if (sqlite3_prepare_v2(db_, sql, -1, &stmt, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << "ADS database: " << sql << ": " << sqlite3_errmsg(db_);
      return nullptr;
    }
    return stmt;
  }

 private:
  sqlite3* db_ = nullptr;
};

std::string column_text(sqlite3_stmt* stmt, int i) {
  const unsigned char* text = sqlite3_column_text(stmt, i);
  return text != nullptr ? reinterpret_cast<const char*>(text) : "";
}

}  // namespace

std::string random_marker(const std::string& prefix) { return prefix + to_hex(crypto::random_bytes(8)); }

void SecureSessionFixture::SetUp() {
  PcscFixture::SetUp();
  if (HasFatalFailure()) return;
  bin_.ads_server = env_path("CARDPERSO_ADS_SERVER");
  bin_.dtd_agent = env_path("CARDPERSO_DTD_AGENT");
  bin_.ste_firmware = env_path("CARDPERSO_STE_FIRMWARE");
  bin_.adsctl = env_path("CARDPERSO_ADSCTL");
  bin_.mkcards = env_path("CARDPERSO_MKCARDS");
  for (const auto* p : {&bin_.ads_server, &bin_.dtd_agent, &bin_.ste_firmware, &bin_.adsctl, &bin_.mkcards})
    ASSERT_FALSE(p->empty()) << "set CARDPERSO_ADS_SERVER, CARDPERSO_DTD_AGENT, CARDPERSO_STE_FIRMWARE, "
                                "CARDPERSO_ADSCTL and CARDPERSO_MKCARDS (ctest does)";
  db_ = file("ads.db");
  master_key_ = file("ads-master.key");
  ads_log_ = file("ads.log");
  dtd_log_ = file("dtd.log");
  card_stderr_dir_ = dir_;  // card-sim stderr into the run directory, for the secret scan
  auto init = adsctl({"init"});
  ASSERT_EQ(init.exit_code, 0) << "adsctl init: " << init.err;
  pair_terminal_and_dtd();
  make_device_key();
}

void SecureSessionFixture::make_device_key() {
  device_key_ = file("ste-device.key");
  auto made = run_program({bin_.ste_firmware, "--init-device-key", "--device-key", device_key_}, file("ste-key.err"));
  ASSERT_EQ(made.exit_code, 0) << "ste-firmware --init-device-key: " << made.err;
  std::smatch key;
  ASSERT_TRUE(std::regex_search(made.out, key, std::regex("^([0-9a-f]{64})\n")))
      << "ste-firmware --init-device-key printed no public key:\n" << made.out;
  device_public_key_ = key[1].str();
}

void SecureSessionFixture::pair_terminal_and_dtd() {
  ste_pairing_ = file("ste-pairing.key");
  dtd_pairing_ = file("dtd-pairing.key");
  auto shown = run_program({bin_.ste_firmware, "--pair", "--pairing-file", ste_pairing_}, file("ste-pair.err"));
  ASSERT_EQ(shown.exit_code, 0) << "ste-firmware --pair: " << shown.err;
  std::smatch code;
  ASSERT_TRUE(std::regex_search(shown.out, code, std::regex("Pairing code: ([0-9A-F-]+)")))
      << "ste-firmware --pair showed no code:\n" << shown.out;
  // Typed on standard input (--pair -), as the operations guide advises: not on the command line,
  // where the process list would show it. The code is hex digits and dashes: safe inside the quotes.
  auto typed = run_program({"/bin/sh", "-c",
                            "printf '%s\\n' '" + code[1].str() + "' | '" + bin_.dtd_agent + "' --pair - --pairing-file '" +
                                dtd_pairing_ + "'"},
                           file("dtd-pair.err"));
  ASSERT_EQ(typed.exit_code, 0) << "dtd-agent --pair: " << typed.err;
}

void SecureSessionFixture::stop_programs() {
  // STE first, then DTD, then the ADS (SIGTERM: it closes its sessions and the database).
  for (auto& s : ste_runs_) s->kill_now();
  if (dtd_) dtd_->kill_now();
  if (ads_) {
    ads_->send_signal(SIGTERM);
    if (!ads_->wait_exit(Millis(5000))) ads_->kill_now();
  }
  for (auto& sim : sims_) sim->terminate();  // its last image write done, its output complete
}

void SecureSessionFixture::scan_for_secrets() {
  if (secrets_scanned_ || dir_.empty()) return;
  secrets_scanned_ = true;
  RunSecrets run = collect_run_secrets(dir_, db_, master_key_);
  for (const auto& problem : run.problems) {
    if (sealed_rows_tampered_ && problem.ends_with("does not open")) continue;
    ADD_FAILURE() << "secret scan: cannot gather the run's secrets: " << problem;
  }
  auto summary = scan_directory(run.scanner, dir_, [&](const std::string& f) { return run.secret_stores.count(f) > 0; });
  // What was only ever in memory: the programs' stdout, card-sim events, the tools' stdout.
  std::vector<std::pair<std::string, std::string>> outputs = captured_;
  for (const auto& s : ste_runs_) outputs.emplace_back(s->name() + " stdout", s->stdout_text());
  if (dtd_) outputs.emplace_back("dtd-agent stdout", dtd_->stdout_text());
  if (ads_) outputs.emplace_back("ads-server stdout", ads_->stdout_text());
  for (std::size_t i = 0; i < sims_.size(); ++i)
    outputs.emplace_back("card-sim " + std::to_string(i + 1) + " stdout", sims_[i]->output());
  std::size_t output_bytes = 0;
  for (const auto& [name, text] : outputs) {
    output_bytes += text.size();
    for (auto& f : run.scanner.scan(name, text)) summary.findings.push_back(std::move(f));
  }
  for (const auto& f : summary.findings) ADD_FAILURE() << "secret scan: " << describe(f);
  secret_found_ = !summary.findings.empty();
  std::cout << "secret scan: " << summary.files << " files (" << summary.bytes << " bytes) and " << outputs.size()
            << " captured outputs (" << output_bytes << " bytes) scanned for " << run.scanner.secrets()
            << " secrets in " << run.scanner.patterns() << " forms (" << run.sealed_columns
            << " sealed values opened, " << run.card_images << " card images, " << run.scanner.duplicates()
            << " values seen in two sources); " << summary.skipped.size() << " secret stores not scanned; "
            << summary.findings.size() << " findings" << std::endl;
}

void SecureSessionFixture::TearDown() {
  stop_programs();
  scan_for_secrets();
  if (secret_found_) {
    std::cerr << "(the programs' output is not printed: the secret scan found a secret in it)\n";
  } else if (HasFailure() || !env_path("CARDPERSO_E2E_VERBOSE").empty()) {
    auto dump = [](const std::string& title, const std::string& text) {
      std::cerr << "----- " << title << " -----\n" << text << (text.empty() || text.back() == '\n' ? "" : "\n");
    };
    for (const auto& s : ste_runs_) dump(s->name() + " stdout", s->stdout_text());
    for (const auto& s : ste_runs_) dump(s->name() + " stderr", s->stderr_text());
    if (dtd_) dump("dtd-agent stdout", dtd_->stdout_text());
    if (dtd_) dump("dtd-agent stderr", dtd_->stderr_text());
    if (ads_) dump("ads-server stdout", ads_->stdout_text());
    if (ads_) dump("ads-server stderr", ads_->stderr_text());
  }
  ste_runs_.clear();
  dtd_.reset();
  ads_.reset();
  PcscFixture::TearDown();
}

RunResult SecureSessionFixture::adsctl(std::vector<std::string> args) {
  std::vector<std::string> argv = {bin_.adsctl};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.insert(argv.end(), {"--db", db_, "--master-key", master_key_});
  const std::string name = "adsctl-" + std::to_string(++run_counter_);
  auto r = run_program(argv, file(name + ".err"));
  captured_.emplace_back(name + " stdout", r.out);
  return r;
}

std::string SecureSessionFixture::enrol(const std::string& serial, bool with_terminal) {
  const std::string image = file("retailer-" + serial + ".json");
  auto r = adsctl({"retailer", "enrol", "--serial", serial, "--pin", kPin, "--puk", kRetailerPuk, "--card-image", image});
  EXPECT_EQ(r.exit_code, 0) << "adsctl retailer enrol: " << r.err;
  if (!with_terminal) return image;
  auto t = adsctl({"terminal", "enrol", "--retailer", serial, "--public-key", device_public_key_, "--label", "e2e"});
  EXPECT_EQ(t.exit_code, 0) << "adsctl terminal enrol: " << t.err;
  return image;
}

void SecureSessionFixture::corrupt_key_file(const std::string& image_path, std::size_t from, std::size_t count) {
  auto image = cardsim::load_image(image_path);
  ASSERT_TRUE(image.ok()) << image.error().message;
  bool found = false;
  for (auto& f : image->files) {
    if (f.path != "3F00/7F50/6F01") continue;
    ASSERT_GE(f.data.size(), from + count) << "retailer key file shorter than expected";
    for (std::size_t i = from; i < from + count; ++i) f.data[i] ^= 0xFF;
    found = true;
  }
  ASSERT_TRUE(found) << "no retailer key file 3F00/7F50/6F01 in " << image_path;
  auto saved = cardsim::save_image(image_path, *image);
  ASSERT_TRUE(saved.ok()) << saved.error().message;
}

void SecureSessionFixture::insert_card(const std::string& image_path) {
  ASSERT_NE(start_card(image_path, 0), nullptr) << "retailer card did not come up in the reader";
}

int SecureSessionFixture::start_ads(std::vector<std::string> extra_args) {
  std::vector<std::string> argv = {bin_.ads_server, "--db", db_, "--master-key", master_key_,
                                   "--listen", "127.0.0.1:0", "--log-level", "debug", "--log-file", ads_log_};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  ads_ = std::make_unique<ChildProcess>("ads-server", argv, file("ads.stderr"));
  return printed_port(*ads_, "listening on");
}

int SecureSessionFixture::start_dtd(int ads_port, const std::string& echo_test, bool wait_connected,
                                    std::vector<std::string> extra_args) {
  if (ads_port <= 0) return 0;  // start_ads already failed the test
  std::vector<std::string> argv = {bin_.dtd_agent,  "--ads",       "127.0.0.1:" + std::to_string(ads_port),
                                   "--ste-listen",  "127.0.0.1:0", "--dtd-id",
                                   "e2e-dtd",       "--log-level", "debug",
                                   "--log-file",    dtd_log_, "--pairing-file", dtd_pairing_};
  if (!echo_test.empty()) argv.insert(argv.end(), {"--echo-test", echo_test});
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  dtd_ = std::make_unique<ChildProcess>("dtd-agent", argv, file("dtd.stderr"));
  const int port = printed_port(*dtd_, "ste link on");
  if (port == 0) return 0;
  if (wait_connected && !wait_for_log(dtd_log_, std::regex("connected to ADS at"), Millis(15000))) {
    ADD_FAILURE() << "dtd-agent did not log 'connected to ADS at ...'";
  }
  return port;
}

ChildProcess& SecureSessionFixture::start_ste(int dtd_port, const SteOptions& options) {
  const int run = static_cast<int>(ste_runs_.size()) + 1;
  const std::string keypad = file("keypad-" + std::to_string(run) + ".txt");
  {
    std::ofstream out(keypad);
    for (const auto& entry : options.keypad) out << entry << "\n";
  }
  ste_log_ = file("ste-" + std::to_string(run) + ".log");
  std::vector<std::string> argv = {bin_.ste_firmware, "--dtd",       "127.0.0.1:" + std::to_string(dtd_port),
                                   "--keypad-script", "file:" + keypad, "--card-timeout-s",
                                   "20",              "--log-level", "debug",
                                   "--log-file",      ste_log_, "--pairing-file", ste_pairing_,
                                   "--device-key",    device_key_};
  if (!options.echo_test.empty()) argv.insert(argv.end(), {"--echo-test", options.echo_test});
  argv.insert(argv.end(), options.extra_args.begin(), options.extra_args.end());
  ste_runs_.push_back(std::make_unique<ChildProcess>("ste-firmware run " + std::to_string(run), argv,
                                                     file("ste-" + std::to_string(run) + ".stderr")));
  return *ste_runs_.back();
}

std::optional<int> SecureSessionFixture::run_ste(int dtd_port, const SteOptions& options, Millis timeout) {
  auto code = start_ste(dtd_port, options).wait_exit(timeout);
  if (!code) ADD_FAILURE() << "ste-firmware still running after " << timeout.count() << " ms";
  return code;
}

std::vector<std::string> SecureSessionFixture::display() const {
  std::vector<std::string> texts;
  if (ste_runs_.empty()) return texts;
  for (const auto& line : ste().lines())
    if (line.rfind(kDisplayPrefix, 0) == 0) texts.push_back(line.substr(kDisplayPrefix.size()));
  return texts;
}

bool SecureSessionFixture::displayed(const std::string& text) const {
  for (const auto& t : display())
    if (t == text) return true;
  return false;
}

void SecureSessionFixture::expect_display_in_order(const std::vector<std::string>& expected) const {
  const auto shown = display();
  auto at = shown.begin();
  for (const auto& text : expected) {
    at = std::find(at, shown.end(), text);
    if (at == shown.end()) {
      ADD_FAILURE() << "STE did not show '" << text << "' (in this order: after the previous ones)\n" << display_text();
      return;
    }
    ++at;
  }
}

std::string SecureSessionFixture::display_text() const {
  std::string all;
  for (const auto& t : display()) all += "  " + t + "\n";
  return "STE display:\n" + all;
}

std::optional<std::vector<std::string>> SecureSessionFixture::wait_for_log(const std::string& log_path,
                                                                          const std::regex& re, Millis timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    const std::string text = read_text_file(log_path);
    std::smatch m;
    if (std::regex_search(text, m, re)) {
      std::vector<std::string> groups;
      for (const auto& g : m) groups.push_back(g.str());
      return groups;
    }
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(Millis(50));
  }
}

std::vector<SessionRow> SecureSessionFixture::sessions() {
  std::vector<SessionRow> rows;
  DbReader db(db_);
  sqlite3_stmt* stmt = db.prepare("SELECT id, retailer_serial, outcome, reason FROM sessions ORDER BY id");
  if (stmt == nullptr) return rows;
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    SessionRow row;
    row.id = sqlite3_column_int64(stmt, 0);
    row.retailer_serial = column_text(stmt, 1);
    if (sqlite3_column_type(stmt, 2) != SQLITE_NULL) row.outcome = column_text(stmt, 2);
    row.reason = column_text(stmt, 3);
    rows.push_back(std::move(row));
  }
  if (rc != SQLITE_DONE) ADD_FAILURE() << "reading the sessions table failed (sqlite code " << rc << ")";
  sqlite3_finalize(stmt);
  return rows;
}

bool SecureSessionFixture::wait_no_open_session(Millis timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    bool open = false;
    for (const auto& row : sessions()) open = open || !row.outcome.has_value();
    if (!open) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(Millis(100));
  }
}

std::int64_t SecureSessionFixture::failed_auth_count(const std::string& serial) {
  DbReader db(db_);
  sqlite3_stmt* stmt = db.prepare("SELECT failed_auth_count FROM retailers WHERE serial = ?1");
  if (stmt == nullptr) return -1;
  sqlite3_bind_text(stmt, 1, serial.c_str(), -1, SQLITE_TRANSIENT);
  std::int64_t count = -1;
  if (sqlite3_step(stmt) == SQLITE_ROW) count = sqlite3_column_int64(stmt, 0);
  sqlite3_finalize(stmt);
  return count;
}

}  // namespace cardperso::e2e
