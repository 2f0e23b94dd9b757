#pragma once
// A real osmo-hlr (Debian 12: 1.5.0) as a child process, for the tests that check what the ADS
// provisions into the HLR: started on a config this class writes, waited for until its GSUP and CTRL
// ports accept, stopped, killed and restarted on the same database; its subscribers read straight
// from its SQLite file so a check does not go through our own HLR client code.
//
// osmo-hlr 1.5.0 has fixed ports (GSUP 4222, VTY 4258, CTRL 4259); only the bind address can be
// chosen. Two HLRs at once therefore need two addresses (127.0.0.1, 127.0.0.2, ... all reach the
// loopback) or two network namespaces (each test case in its own pcsc-sandbox).
#include <memory>
#include <string>
#include <vector>

#include "cardperso/common/result.hpp"
#include "cardperso/testing/child_process.hpp"

namespace cardperso::testing {

// One row of osmo-hlr's subscriber table with its 3G (Milenage) authentication data, as text.
struct HlrSubscriber {
  std::string imsi;
  std::string msisdn;  // "" when none is set
  bool nam_cs = false;
  bool nam_ps = false;
  std::string k_hex;    // lower-case hex as osmo-hlr stores it; "" when the subscriber has no 3G data
  std::string op_hex;   // "" unless the data was given as OP
  std::string opc_hex;  // "" unless the data was given as OPc
  int algo_id_3g = 0;   // libosmocore's enum osmo_auth_algo: 5 = Milenage; 0 when no 3G data
};

class OsmoHlr {
 public:
  static constexpr int kGsupPort = 4222;
  static constexpr int kVtyPort = 4258;
  static constexpr int kCtrlPort = 4259;

  // work_dir must exist: it receives osmo-hlr.cfg, the database hlr.db and the log osmo-hlr.log.
  // Nothing starts until start().
  explicit OsmoHlr(std::string work_dir, std::string ip = "127.0.0.1");
  ~OsmoHlr();  // SIGKILL if still running: a failing test leaves nothing behind
  OsmoHlr(const OsmoHlr&) = delete;
  OsmoHlr& operator=(const OsmoHlr&) = delete;

  // (Re)writes the config and starts osmo-hlr on db_path() (a new file gets the schema, an existing
  // one keeps its subscribers), then waits until the CTRL and GSUP ports accept. Fails, with the tail
  // of the log, when osmo-hlr exits or is not ready within `timeout`, or when something else already
  // listens on those ports (a previous HLR still running?).
  Result<void> start(Millis timeout = Millis(10000));
  // SIGTERM and wait for the exit; fails when it had to be killed after `grace` or exited other than 0.
  Result<void> stop(Millis grace = Millis(5000));
  // SIGKILL and reap: a crash, without the clean database close.
  void kill();
  // Whether the process still runs (a death since the last call is noticed and reaped here).
  bool running();

  const std::string& ip() const { return ip_; }
  int gsup_port() const { return kGsupPort; }
  int ctrl_port() const { return kCtrlPort; }
  int vty_port() const { return kVtyPort; }
  const std::string& db_path() const { return db_path_; }
  const std::string& config_path() const { return config_path_; }
  const std::string& log_path() const { return log_path_; }
  // The last `lines` lines of the log (every run appends to it), for failure messages.
  std::string log_tail(std::size_t lines = 20) const;

  // Read-only reads of the database, running or not (WAL: what osmo-hlr committed is visible).
  Result<std::size_t> subscriber_count() const;
  Result<std::vector<HlrSubscriber>> subscribers() const;  // ordered by the HLR's subscriber id

 private:
  Result<void> write_config() const;
  Result<void> wait_until_ready(Millis timeout);

  std::string work_dir_;
  std::string ip_;
  std::string config_path_;
  std::string db_path_;
  std::string log_path_;
  std::unique_ptr<ChildProcess> child_;
};

}  // namespace cardperso::testing
