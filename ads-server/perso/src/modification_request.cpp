#include "cardperso/ads/perso/modification_request.hpp"

#include <nlohmann/json.hpp>

namespace cardperso::ads {

namespace {

using nlohmann::json;

const perso::ProfileFile* file_from(const perso::CardProfile& profile, perso::ValueSource source) {
  for (const auto& f : profile.files)
    if (f.value && f.value->from == source) return &f;
  return nullptr;
}

Error bad(const std::string& why) { return fail("modification request: " + why); }

}  // namespace

Result<ModificationRequest> parse_modification_request(std::string_view text, const perso::CardProfile& profile) {
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::exception&) {
    return bad("not valid JSON");
  }
  if (!doc.is_object()) return bad("must be a JSON object {\"iccid\": ..., \"changes\": {...}}");
  ModificationRequest out;
  for (const auto& [key, value] : doc.items()) {
    if (key == "iccid") {
      if (!value.is_string()) return bad("iccid must be a string of 18 to 20 digits");
      out.iccid = value.get<std::string>();
      if (out.iccid.size() < 18 || out.iccid.size() > 20 || !perso::all_digits(out.iccid))
        return bad("iccid must be 18 to 20 digits");
    } else if (key == "changes") {
      if (!value.is_object()) return bad("changes must be an object");
      for (const auto& [what, change] : value.items()) {
        if (what == "spn") {
          if (!change.is_string()) return bad("changes.spn must be a string");
          const auto* f = file_from(profile, perso::ValueSource::Spn);
          if (!f) return bad("this card profile has no SPN file");
          auto encoded = perso::encode_spn(perso::Spn{f->value->display_condition, change.get<std::string>()}, f->size);
          if (!encoded) return bad("changes.spn: " + encoded.error().message);
          out.spn = change.get<std::string>();
        } else if (what == "plmnsel") {
          if (!change.is_array() || change.empty()) return bad("changes.plmnsel must be a non-empty list of PLMNs");
          std::vector<perso::Plmn> plmns;
          for (const auto& item : change) {
            if (!item.is_string()) return bad("changes.plmnsel: each PLMN is a string such as \"001/01\"");
            auto plmn = perso::parse_plmn(item.get<std::string>());
            if (!plmn) return bad("changes.plmnsel: " + plmn.error().message);
            plmns.push_back(*plmn);
          }
          const auto* f = file_from(profile, perso::ValueSource::Plmnsel);
          if (!f) return bad("this card profile has no PLMN selector file");
          if (auto encoded = perso::encode_plmnsel(plmns, f->size); !encoded)
            return bad("changes.plmnsel: " + encoded.error().message);
          out.plmns = std::move(plmns);
        } else if (what == "msisdn") {
          if (!change.is_string() || change.get<std::string>() != "new")
            return bad("changes.msisdn: only \"new\" can be asked for (a fresh number from the pool)");
          if (!file_from(profile, perso::ValueSource::Msisdn)) return bad("this card profile has no MSISDN file");
          out.new_msisdn = true;
        } else {
          return bad("changes." + what.substr(0, 40) + ": unknown change (spn, plmnsel and msisdn can be changed)");
        }
      }
    } else {
      return bad(key.substr(0, 40) + ": unknown field (iccid and changes are expected)");
    }
  }
  if (out.iccid.empty()) return bad("iccid missing");
  if (!out.spn && !out.plmns && !out.new_msisdn) return bad("no change given (spn, plmnsel or msisdn)");
  return out;
}

}  // namespace cardperso::ads
