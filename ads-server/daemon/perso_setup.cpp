#include "perso_setup.hpp"

#include <fmt/format.h>

#include <filesystem>

#include "cardperso/ads/perso/perso_services_sqlite.hpp"
#include "cardperso/ads/perso/perso_session.hpp"
#include "cardperso/common/logging.hpp"

namespace cardperso::ads {

namespace {

constexpr const char* kDefaultProfile = "gsm-sim-default.json";

// The shipped profiles sit beside the program's bin/ in the same prefix (/usr/bin/ads-server ->
// /usr/share/cardperso/profiles), found from the running executable so that a package, a
// `cmake --install --prefix` anywhere and a relocated tree all find their own.
std::string installed_profiles_dir() {
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return {};
  return (exe.parent_path().parent_path() / "share" / "cardperso" / "profiles").string();
}

std::optional<std::string> find_default_profile(const std::string& installed_dir) {
  for (const std::string& dir : {installed_dir, std::string("./profiles")}) {
    if (dir.empty()) continue;
    const std::string path = dir + "/" + kDefaultProfile;
    std::error_code ec;
    if (std::filesystem::is_regular_file(path, ec)) return path;
  }
  return std::nullopt;
}

}  // namespace

Result<PersoSetup> load_perso_setup(const AdsOptions& o) {
  PersoSetup setup;
  setup.policy_source = o.policy_path.empty() ? "default" : o.policy_path;
  if (!o.policy_path.empty()) {
    auto policy = policy::load_policy_file(o.policy_path);
    if (!policy) return fail("--policy " + o.policy_path + ": " + policy.error().message);
    setup.policy = std::move(*policy);
  } else {
    setup.policy = policy::default_policy();
  }
  if (!o.assess_command.empty()) setup.policy.external = policy::ExternalCommand{{o.assess_command}, std::chrono::seconds(5)};

  std::string profile_path = o.profile_path;
  if (profile_path.empty()) {
    const auto installed_dir = installed_profiles_dir();
    auto found = find_default_profile(installed_dir);
    if (!found) {
      setup.summary = fmt::format("personalisation disabled: no --profile given and no {} in {} or ./profiles",
                                  kDefaultProfile, installed_dir.empty() ? "the install prefix" : installed_dir);
      return setup;
    }
    profile_path = *found;
  }
  auto profile = perso::load_card_profile(profile_path);
  if (!profile) return fail("--profile " + profile_path + ": " + profile.error().message);

  PersoConfig config;
  config.profile = std::move(*profile);
  config.spn = o.spn;
  config.mnc_length = o.mnc_length;
  config.require_card_key = o.require_card_key;
  if (auto spn = perso::encode_spn(perso::Spn{1, o.spn}); !spn) return fail("--spn: " + spn.error().message);
  std::string plmn_text;
  for (const auto& text : o.plmns) {
    auto plmn = perso::parse_plmn(text);
    if (!plmn) return fail("--plmn " + text + ": " + plmn.error().message);
    config.plmns.push_back(*plmn);
    plmn_text += (plmn_text.empty() ? "" : ", ") + perso::to_string(*plmn);
  }
  setup.summary = fmt::format(
      "personalisation: profile {} (version {}) from {}, SPN \"{}\", PLMN selector {}, MNC length {}, policy {}{}; {}",
      config.profile.name, config.profile.version, profile_path, config.spn,
      plmn_text.empty() ? "the home PLMN of each IMSI" : plmn_text, config.mnc_length,
      o.policy_path.empty() ? "default (name, date_of_birth, age >= 18)" : o.policy_path,
      setup.policy.external ? ", external assessment command" : "",
      config.require_card_key ? "cards without a card key refused" : "cards without a card key (CSV batches) accepted");
  setup.profile_path = profile_path;
  setup.config = std::move(config);
  return setup;
}

namespace {

// An audit detail carries a reason from a file or the system: printable and bounded.
constexpr std::size_t kMaxAuditText = 400;
constexpr std::size_t kMaxAuditName = 64;

}  // namespace

ReloadPlan plan_reload(const Result<PersoSetup>& loaded, bool personalisation_running) {
  ReloadPlan plan;
  auto not_reloaded = [&plan](const std::string& why) {
    plan.install = false;
    plan.audit_event = kConfigReloadFailed;
    plan.audit_detail = "reason=" + printable_text(why, kMaxAuditText);
    plan.log = "configuration not reloaded: " + why + "; the running configuration stays in force";
    return plan;
  };
  if (!loaded) return not_reloaded(loaded.error().message);
  const PersoSetup& setup = *loaded;
  if (!setup.config) {
    // A default profile that went missing (a package upgrade half done) must not stop the shops
    // mid-day: switching personalisation off takes a restart.
    if (personalisation_running)
      return not_reloaded(setup.summary + "; a reload does not switch personalisation off (restart ads-server for that)");
    plan.audit_event = kConfigReloaded;
    plan.audit_detail = "personalisation=disabled policy=" + printable_text(setup.policy_source, kMaxAuditText);
    plan.log = "configuration reloaded: " + setup.summary;
    return plan;
  }
  // The links and their services were wired without personalisation at start; enabling it takes a
  // restart rather than rewiring a running server.
  if (!personalisation_running)
    return not_reloaded("a card profile is there now (" + setup.profile_path +
                        ") but personalisation was disabled at start; restart ads-server to enable it");
  plan.install = true;
  plan.audit_event = kConfigReloaded;
  // The external command's argv is not named: it may carry a credential.
  plan.audit_detail = fmt::format("profile={} version={} profile_file={} policy={}{}",
                                  printable_text(setup.config->profile.name, kMaxAuditName),
                                  printable_text(setup.config->profile.version, kMaxAuditName),
                                  printable_text(setup.profile_path, kMaxAuditText),
                                  printable_text(setup.policy_source, kMaxAuditText),
                                  setup.policy.external ? " external_command=yes" : "");
  plan.log = "configuration reloaded: " + setup.summary;
  return plan;
}

void reload_perso_setup(const AdsOptions& options, SqlitePersoServices* perso, Database& db, AuditLog& audit) {
  auto loaded = load_perso_setup(options);
  ReloadPlan plan = plan_reload(loaded, perso != nullptr);
  // Audited first, in force after: a change the audit log cannot show is not made.
  auto audited = db.with_transaction([&]() -> Result<void> {
    auto logged = audit.append("ads-server", plan.audit_event, kConfigAuditSubject, plan.audit_detail);
    if (!logged) return logged.error();
    return {};
  });
  if (!audited) {
    if (plan.install)
      spdlog::error("configuration not reloaded: cannot audit {}: {}; the running configuration stays in force",
                    plan.audit_event, audited.error().message);
    else
      spdlog::error("{} (and cannot audit {}: {})", plan.log, plan.audit_event, audited.error().message);
    return;
  }
  if (plan.install) perso->install(std::move(*loaded->config), std::move(loaded->policy));
  if (plan.audit_event == kConfigReloaded)
    spdlog::info("{}", plan.log);
  else
    spdlog::error("{}", plan.log);
}

}  // namespace cardperso::ads
