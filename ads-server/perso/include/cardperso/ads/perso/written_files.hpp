#pragma once
// What a script writes, as the card record keeps it (card_records.hpp): each file's clear value in
// hex, and for Ki, OPc and the codes only which secret went there. Computed from the same profile
// and values as the script (perso::build_personalisation_script), file by file in profile order.
#include <vector>

#include "cardperso/ads/store/card_records.hpp"
#include "cardperso/common/result.hpp"
#include "cardperso/perso/card_profile.hpp"
#include "cardperso/perso/script_builder.hpp"

namespace cardperso::ads {

// Personalise: the issuer code, every code file, every file with a value. Modify: the values given
// (an SPN, a PLMN list, a new IMSI with ACC and AD, ...) and the issuer code if a new one is given.
Result<std::vector<WrittenFile>> written_files(const perso::CardProfile& profile, const perso::PersoValues& values);

// The hex of what the profile's PLMN selector file holds for this list ("" when the profile has none).
Result<std::string> plmnsel_hex(const perso::CardProfile& profile, const std::vector<perso::Plmn>& plmns);

}  // namespace cardperso::ads
