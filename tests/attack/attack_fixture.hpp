#pragma once
// The attack tests' fixture: the e2e SecureSessionFixture (real adsctl database, card-sim retailer card
// in a private pcscd, ads-server, dtd-agent, ste-firmware as processes) plus hostile relays (FrameProxy)
// placed between STE and DTD and/or between DTD and ADS, a snapshot of the card image and the database to
// prove an attack changed nothing, and one row of the outcome table (docs/security.md) per test,
// written to $CARDPERSO_SECURITY_ROWS/<test>.md.
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "relay.hpp"
#include "security_row.hpp"
#include "secure_session_fixture.hpp"

namespace cardperso::attack {

using e2e::Millis;

// What must hold after an attack.
struct Expect {
  std::string ads_log;           // ECMAScript regex the ADS log must match ("" = none)
  std::string dtd_log;           // likewise for the DTD log
  std::optional<int> ste_exit;   // the STE's exit code, when the attack decides it
  std::string ste_display;       // a display text the STE must show ("Refused: ..."), "" = none
  std::int64_t failures = 0;     // retailers.failed_auth_count afterwards (legitimately counted)
  bool no_session = false;       // the ADS never opened a session for the attack
};

struct Snapshot {
  std::string card_image;
  std::map<std::string, std::vector<std::string>> tables;  // every table but sessions/audit_log
};

class AttackFixture : public e2e::SecureSessionFixture {
 protected:
  void TearDown() override;

  struct ShopOptions {
    Attack ste_link;         // empty: no relay between STE and DTD
    Attack ads_link;         // empty: no relay between DTD and ADS
    std::vector<std::string> ads_args;
    bool enrol_terminal = true;     // the terminal enrolled for the card in the reader
    std::function<void()> records;  // the issuer's further changes, made before the snapshot
  };
  // Enrols and inserts the retailer card, snapshots card and database, starts the ADS, the relays
  // and the DTD (with a channel-2 echo). Returns the port the STE connects to.
  int open_shop(ShopOptions options);
  e2e::SteOptions ste_options(int response_timeout_ms = 8000) const;

  Snapshot snapshot();
  // The card image unchanged, every table but sessions/audit_log unchanged (retailers compared
  // without its failure columns), failed_auth_count == expected.failures, every session from row
  // `first_row` on closed and none completed.
  void check_outcome(const Expect& expected, std::size_t first_row = 0);

  // One row of the outcome table.
  void describe(std::string attack, std::string where, std::string expected);
  void observe(std::string what);  // extra observation (appended to the row)

  // Thread-safe note from an attack (runs on a relay thread): which frame it changed.
  void fired(std::string what);
  std::vector<std::string> fired_notes() const;
  std::size_t fired_count() const;

  std::optional<std::string> log_match(const std::string& path, const std::string& re, Millis timeout);

  std::string image_;
  Snapshot before_;
  int ads_port_ = 0;
  int dtd_port_ = 0;
  std::unique_ptr<FrameProxy> ste_relay_, ads_relay_;

 private:
  SecurityRow row_;
  mutable std::mutex fired_mutex_;
  std::vector<std::string> fired_;
};

}  // namespace cardperso::attack
