#include "cardperso/ads/perso/written_files.hpp"

#include <algorithm>

namespace cardperso::ads {

namespace {

using perso::PersoMode;
using perso::ValueSource;

bool is_code_file(const perso::CardProfile& p, const std::string& path) {
  for (const auto* c : {&p.chv1, &p.unblock1, &p.chv2, &p.unblock2})
    if (*c && (*c)->file == path) return true;
  return false;
}

// Mirrors the builder's choice of what a modification writes.
bool written_in_modify(ValueSource s, const perso::PersoValues& v) {
  switch (s) {
    case ValueSource::Imsi:
    case ValueSource::Acc:
    case ValueSource::Ad: return !v.imsi.empty();
    case ValueSource::Msisdn: return !v.msisdn.empty();
    case ValueSource::Spn: return v.spn.has_value();
    case ValueSource::Plmnsel: return v.plmns.has_value();
    case ValueSource::Ki: return !v.ki.empty();
    case ValueSource::Opc: return !v.opc.empty();
    case ValueSource::Iccid:
    case ValueSource::Sst:
    case ValueSource::Hex: return false;
  }
  return false;
}

Result<Bytes> clear_value(const perso::ProfileFile& f, const perso::PersoValues& v) {
  const perso::ValueSpec& spec = *f.value;
  switch (spec.from) {
    case ValueSource::Imsi: return perso::encode_imsi(v.imsi);
    case ValueSource::Acc: return perso::encode_acc_from_imsi(v.imsi);
    case ValueSource::Ad: return perso::encode_ad(v.mnc_length, f.size);
    case ValueSource::Iccid: return perso::encode_iccid(v.iccid);
    case ValueSource::Msisdn:
      return perso::encode_msisdn_record(perso::Msisdn{v.msisdn, spec.ton_npi, spec.alpha}, f.record_length);
    case ValueSource::Spn:
      if (!v.spn) return fail("no SPN given");
      return perso::encode_spn(perso::Spn{spec.display_condition, *v.spn}, f.size);
    case ValueSource::Plmnsel:
      if (!v.plmns) return fail("no PLMN list given");
      return perso::encode_plmnsel(*v.plmns, f.size);
    case ValueSource::Sst: return perso::encode_sst(spec.services, f.size);
    case ValueSource::Hex: return spec.hex;
    case ValueSource::Ki:
    case ValueSource::Opc: break;
  }
  return fail("internal: not a clear value");
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
    if (!personalise && !written_in_modify(f.value->from, v)) continue;
    if (f.value->from == ValueSource::Ki || f.value->from == ValueSource::Opc) {
      out.push_back({f.path, f.value->from == ValueSource::Ki ? FileValue::Ki : FileValue::Opc, ""});
      continue;
    }
    auto value = clear_value(f, v);
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
