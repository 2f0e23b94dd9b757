#include "perso_setup.hpp"

#include <fmt/format.h>

#include <filesystem>

#include "cardperso/ads/perso/perso_services_sqlite.hpp"

namespace cardperso::ads {

namespace {

constexpr const char* kDefaultProfile = "gsm-sim-default.json";

std::optional<std::string> find_default_profile() {
  for (const char* dir : {CARDPERSO_INSTALLED_PROFILES, "./profiles"}) {
    const std::string path = std::string(dir) + "/" + kDefaultProfile;
    std::error_code ec;
    if (std::filesystem::is_regular_file(path, ec)) return path;
  }
  return std::nullopt;
}

}  // namespace

Result<PersoSetup> load_perso_setup(const AdsOptions& o) {
  PersoSetup setup;
  if (!o.policy_path.empty()) {
    auto policy = policy::load_policy_file(o.policy_path);
    if (!policy) return fail("--policy " + o.policy_path + ": " + policy.error().message);
    setup.policy = std::move(*policy);
  } else {
    setup.policy = default_policy();
  }
  if (!o.assess_command.empty()) setup.policy.external = policy::ExternalCommand{{o.assess_command}, std::chrono::seconds(5)};

  std::string profile_path = o.profile_path;
  if (profile_path.empty()) {
    auto found = find_default_profile();
    if (!found) {
      setup.summary = fmt::format("personalisation disabled: no --profile given and no {} in {} or ./profiles",
                                  kDefaultProfile, CARDPERSO_INSTALLED_PROFILES);
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
  setup.config = std::move(config);
  return setup;
}

}  // namespace cardperso::ads
