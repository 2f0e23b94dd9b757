#include "cardperso/perso/file_values.hpp"

#include <string>

namespace cardperso::perso {

bool written_in_modify(ValueSource s, const PersoValues& v) {
  switch (s) {
    case ValueSource::Imsi:
    case ValueSource::Acc:
    case ValueSource::Ad: return !v.imsi.empty();
    case ValueSource::Msisdn: return !v.msisdn.empty();
    case ValueSource::Spn: return v.spn.has_value();
    case ValueSource::Plmnsel: return v.plmns.has_value();
    case ValueSource::Ki: return !v.ki.empty();
    case ValueSource::Opc: return !v.opc.empty();
    case ValueSource::Iccid:  // a card keeps its ICCID
    case ValueSource::Sst:    // constants of the card type
    case ValueSource::Hex: return false;
  }
  return false;
}

Result<Bytes> encode_clear_value(const ProfileFile& f, const PersoValues& v) {
  const ValueSpec& spec = *f.value;
  auto missing = [](const char* what) { return fail("the profile writes the " + std::string(what) + " but none was given"); };
  switch (spec.from) {
    case ValueSource::Imsi:
      if (v.imsi.empty()) return missing("IMSI");
      return encode_imsi(v.imsi);
    case ValueSource::Acc:
      if (v.imsi.empty()) return missing("IMSI (for ACC)");
      return encode_acc_from_imsi(v.imsi);
    case ValueSource::Ad: return encode_ad(v.mnc_length, f.size);
    case ValueSource::Iccid:
      if (v.iccid.empty()) return missing("ICCID");
      return encode_iccid(v.iccid);
    case ValueSource::Msisdn:
      if (v.msisdn.empty()) return missing("MSISDN");
      return encode_msisdn_record(Msisdn{v.msisdn, spec.ton_npi, spec.alpha}, f.record_length);
    case ValueSource::Spn:
      if (!v.spn) return missing("SPN");
      return encode_spn(Spn{spec.display_condition, *v.spn}, f.size);
    case ValueSource::Plmnsel:
      if (!v.plmns) return missing("PLMN selector");
      return encode_plmnsel(*v.plmns, f.size);
    case ValueSource::Sst: return encode_sst(spec.services, f.size);
    case ValueSource::Hex: return spec.hex;
    case ValueSource::Ki:
    case ValueSource::Opc: break;
  }
  return fail(std::string("internal: the ") + std::string(name(spec.from)) + " is a key, not a clear value");
}

}  // namespace cardperso::perso
