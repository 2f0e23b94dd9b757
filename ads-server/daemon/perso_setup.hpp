#pragma once
// The daemon's personalisation configuration from its options: the card profile (explicit, or the
// shipped one found in the install prefix or ./profiles), the assessment policy, SPN and PLMN list;
// loaded at start and again on SIGHUP (reload_perso_setup).
#include <optional>
#include <string>

#include "ads_options.hpp"
#include "cardperso/ads/perso/perso_services.hpp"
#include "cardperso/ads/perso/perso_services_sqlite.hpp"
#include "cardperso/ads/store/audit_log.hpp"
#include "cardperso/ads/store/sqlite_db.hpp"
#include "cardperso/common/result.hpp"

namespace cardperso::ads {

struct PersoSetup {
  std::optional<PersoConfig> config;  // empty: no profile found, personalisation disabled
  policy::PolicyConfig policy;
  std::string summary;                // for the startup log
  std::string profile_path;           // the file the profile came from (empty when disabled)
  std::string policy_source;          // the --policy file, or "default"
};

// An explicit --profile / --policy that cannot be loaded is an error (the server must not start
// with a configuration other than the one asked for); a missing default profile is not.
Result<PersoSetup> load_perso_setup(const AdsOptions& options);

// ---- reload (SIGHUP) ------------------------------------------------------------------------------
// The same options read again: the --policy file, the --profile file or the default profile. The
// new setup is put in force whole or not at all; a failed reload leaves the running one as it was.

inline constexpr const char* kConfigReloaded = "config_reloaded";
inline constexpr const char* kConfigReloadFailed = "config_reload_failed";
inline constexpr const char* kConfigAuditSubject = "configuration";

// What a freshly loaded setup means for the running server. Decided without I/O (tested alone);
// reload_perso_setup logs, audits and installs what it says.
struct ReloadPlan {
  bool install = false;      // put the loaded config and policy in force
  std::string audit_event;   // kConfigReloaded or kConfigReloadFailed
  std::string audit_detail;  // names and paths only: no secret, no personal data, no command line
  std::string log;           // the log line: info when installed, error otherwise
};
// personalisation_running: the server started with a profile (SqlitePersoServices exists).
ReloadPlan plan_reload(const Result<PersoSetup>& loaded, bool personalisation_running);

// On the io thread: load, plan, install on `perso` (null: personalisation disabled at start), log,
// and audit in the current io turn (the entry joins the group commit). Never fails the server.
void reload_perso_setup(const AdsOptions& options, SqlitePersoServices* perso, Database& db, AuditLog& audit);

}  // namespace cardperso::ads
