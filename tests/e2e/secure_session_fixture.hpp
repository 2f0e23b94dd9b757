#pragma once
// End-to-end fixture for the "Secure session" tests: inside a pcsc-sandbox (private pcscd + vpcd,
// private network), it makes a real ADS database with adsctl, puts the retailer card in card-sim,
// and starts ads-server, dtd-agent and ste-firmware as processes (paths from the environment:
// CARDPERSO_ADS_SERVER, CARDPERSO_DTD_AGENT, CARDPERSO_STE_FIRMWARE, CARDPERSO_ADSCTL,
// CARDPERSO_MKCARDS). On failure (or with CARDPERSO_E2E_VERBOSE=1) it prints every process's output.
#include <cstdint>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "cardperso/testing/child_process.hpp"
#include "cardperso/testing/run_program.hpp"
#include "pcsc_fixture.hpp"

namespace cardperso::e2e {

using testing::ChildProcess;
using testing::Millis;
using testing::read_text_file;
using testing::run_program;
using testing::RunResult;

struct SessionRow {
  std::int64_t id = 0;
  std::string retailer_serial;
  std::optional<std::string> outcome;  // nullopt while open (ended_at NULL)
  std::string reason;
};

// The retailer PIN and PUK of the e2e runs: 8 digits, so the secret scan (secret_scan.hpp) can look
// for them anywhere in a log without matching by chance.
inline constexpr const char* kRetailerPin = "80417263";
inline constexpr const char* kRetailerPuk = "30571946";

struct SteOptions {
  std::vector<std::string> keypad = {kRetailerPin};  // one entry per line of the keypad script
  std::string echo_test;                       // empty: no --echo-test
  std::vector<std::string> extra_args;
};

class SecureSessionFixture : public testing::PcscFixture {
 protected:
  static constexpr const char* kSerial = "8944100000000000017";
  static constexpr const char* kPin = kRetailerPin;

  void SetUp() override;
  void TearDown() override;

  std::string file(const std::string& name) const { return dir_ + "/" + name; }
  RunResult adsctl(std::vector<std::string> args);
  // adsctl retailer enrol with kPin, and (with_terminal) adsctl terminal enrol of this terminal's
  // device key for the card; returns the card image path.
  std::string enrol(const std::string& serial = kSerial, bool with_terminal = true);
  // XORs 0xFF into bytes [from, from+count) of the retailer key file (3F00/7F50/6F01) in the image.
  void corrupt_key_file(const std::string& image_path, std::size_t from, std::size_t count);
  // card-sim on slot 0 with the image; fails the test when the card does not come up.
  void insert_card(const std::string& image_path);

  // ads-server --listen 127.0.0.1:0; returns the port it prints.
  int start_ads(std::vector<std::string> extra_args = {});
  // dtd-agent --ste-listen 127.0.0.1:0; returns the STE link port. wait_connected: wait for the
  // "connected to ADS" log line first.
  int start_dtd(int ads_port, const std::string& echo_test = "", bool wait_connected = true,
                std::vector<std::string> extra_args = {});
  ChildProcess& start_ste(int dtd_port, const SteOptions& options);
  // start_ste and wait for its exit (nullopt: still running after timeout).
  std::optional<int> run_ste(int dtd_port, const SteOptions& options, Millis timeout = Millis(40000));

  // Display texts of the STE (stdout lines "[STE] text", prefix removed).
  std::vector<std::string> display() const;
  bool displayed(const std::string& text) const;
  std::string display_text() const;
  // The texts must appear in this order (other lines may come between them).
  void expect_display_in_order(const std::vector<std::string>& expected) const;

  // Waits until a line of the log file matches re; returns the submatches.
  std::optional<std::vector<std::string>> wait_for_log(const std::string& log_path, const std::regex& re,
                                                      Millis timeout);
  std::string ads_log() const { return read_text_file(ads_log_); }
  std::string dtd_log() const { return read_text_file(dtd_log_); }

  std::vector<SessionRow> sessions();
  // Waits until no session row is open; true when none is.
  bool wait_no_open_session(Millis timeout);
  std::int64_t failed_auth_count(const std::string& serial);

  // --- the secret scan (docs/security.md "Secrets") -------------------------------------------------
  // Stops the programs and card-sims (idempotent), so every log is complete.
  void stop_programs();
  // Greps every file of the run directory but the secret stores, every captured stdout and card-sim
  // output, for every secret the run used (run_secrets.hpp), in every form (secret_scan.hpp). A
  // finding fails the test naming kind, form, file and line. Runs once, from TearDown. Prints
  // "secret scan: N files ..." on stdout.
  void scan_for_secrets();
  // Set by a test that edits a sealed column on purpose: that row then does not open, which the scan
  // would otherwise report.
  bool sealed_rows_tampered_ = false;
  bool secrets_scanned_ = false;
  bool secret_found_ = false;  // a finding: the failure dump of the logs is then left out
  std::vector<std::pair<std::string, std::string>> captured_;  // stdout of adsctl/mkcards/... runs

  std::string db_, master_key_;
  // The terminal and the DTD paired as an installer would: ste-firmware --pair, its code typed into
  // dtd-agent --pair (SetUp). Each program gets its own file.
  std::string ste_pairing_, dtd_pairing_;
  void pair_terminal_and_dtd();
  // The terminal's device key, made as at installation (ste-firmware --init-device-key, SetUp), and
  // the public key it printed (what enrol() has the issuer enrol).
  std::string device_key_, device_public_key_;
  void make_device_key();
  std::string ads_log_, dtd_log_, ste_log_;
  std::unique_ptr<ChildProcess> ads_, dtd_;
  std::vector<std::unique_ptr<ChildProcess>> ste_runs_;  // every STE run; the last is ste()
  ChildProcess& ste() const { return *ste_runs_.back(); }
  int run_counter_ = 0;

  struct Paths {
    std::string ads_server, dtd_agent, ste_firmware, adsctl, mkcards;
  } bin_;
};

// A random marker for --echo-test: prefix + 16 hex digits.
std::string random_marker(const std::string& prefix);

}  // namespace cardperso::e2e
