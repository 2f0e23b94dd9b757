#include "cardperso/ads/perso/written_files.hpp"

#include <algorithm>

#include "cardperso/perso/file_values.hpp"

namespace cardperso::ads {

namespace {

using perso::PersoMode;
using perso::ValueSource;

bool is_code_file(const perso::CardProfile& p, const std::string& path) {
  for (const auto* c : {&p.chv1, &p.unblock1, &p.chv2, &p.unblock2})
    if (*c && (*c)->file == path) return true;
  return false;
}

}  // namespace

Result<std::vector<WrittenFile>> written_files(const perso::CardProfile& profile, const perso::PersoValues& v) {
  const bool personalise = v.mode == PersoMode::Personalise;
  std::vector<WrittenFile> out;
  if (personalise || !v.issuer_code.empty()) out.push_back({profile.adm.file, FileValue::IssuerCode, ""});
  if (personalise) {
    // The customer's PIN/PUK and the random CHV2/UNBLOCK2 are known to nobody here: only "written".
    for (const auto* c : {&profile.chv1, &profile.unblock1, &profile.chv2, &profile.unblock2})
      if (*c) out.push_back({(*c)->file, FileValue::CustomerCode, ""});
  }
  for (const auto& f : profile.files) {
    if (!f.value || f.path == profile.adm.file || is_code_file(profile, f.path)) continue;
    if (!personalise && !perso::written_in_modify(f.value->from, v)) continue;
    if (f.value->from == ValueSource::Ki || f.value->from == ValueSource::Opc) {
      out.push_back({f.path, f.value->from == ValueSource::Ki ? FileValue::Ki : FileValue::Opc, ""});
      continue;
    }
    auto value = perso::encode_clear_value(f, v);
    if (!value) return fail("file " + f.path + ": " + value.error().message);
    out.push_back({f.path, FileValue::Clear, to_hex(*value)});
  }
  return out;
}

Result<std::string> plmnsel_hex(const perso::CardProfile& profile, const std::vector<perso::Plmn>& plmns) {
  for (const auto& f : profile.files) {
    if (!f.value || f.value->from != ValueSource::Plmnsel) continue;
    auto encoded = perso::encode_plmnsel(plmns, f.size);
    if (!encoded) return encoded.error();
    return to_hex(*encoded);
  }
  return std::string();
}

}  // namespace cardperso::ads
