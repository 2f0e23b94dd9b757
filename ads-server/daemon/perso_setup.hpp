#pragma once
// The daemon's personalisation configuration from its options: the card profile (explicit, or the
// shipped one found in the install prefix or ./profiles), the assessment policy, SPN and PLMN list.
#include <optional>
#include <string>

#include "ads_options.hpp"
#include "cardperso/ads/perso/perso_services.hpp"
#include "cardperso/common/result.hpp"

namespace cardperso::ads {

struct PersoSetup {
  std::optional<PersoConfig> config;  // empty: no profile found, personalisation disabled
  policy::PolicyConfig policy;
  std::string summary;                // for the startup log
};

// An explicit --profile / --policy that cannot be loaded is an error (the server must not start
// with a configuration other than the one asked for); a missing default profile is not.
Result<PersoSetup> load_perso_setup(const AdsOptions& options);

}  // namespace cardperso::ads
