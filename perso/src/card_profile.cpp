#include "cardperso/perso/card_profile.hpp"

#include <algorithm>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "cardperso/card/apdu_builders.hpp"
#include "cardperso/card/file_ids.hpp"
#include "cardperso/perso/sim_encoding.hpp"

namespace cardperso::perso {

using nlohmann::json;

Bytes access_bytes(const AccessRules& r) {
  auto n = [](Access a) { return static_cast<std::uint8_t>(a); };
  const auto bytes = card::access_bytes(n(r.read), n(r.update), n(r.increase), n(r.rehabilitate), n(r.invalidate));
  return Bytes(bytes.begin(), bytes.end());
}

std::string_view name(ValueSource s) {
  switch (s) {
    case ValueSource::Imsi: return "imsi";
    case ValueSource::Iccid: return "iccid";
    case ValueSource::Msisdn: return "msisdn";
    case ValueSource::Spn: return "spn";
    case ValueSource::Plmnsel: return "plmnsel";
    case ValueSource::Sst: return "sst";
    case ValueSource::Acc: return "acc";
    case ValueSource::Ad: return "ad";
    case ValueSource::Ki: return "ki";
    case ValueSource::Opc: return "opc";
    case ValueSource::Hex: return "hex";
  }
  return "?";
}

const ProfileFile* CardProfile::find(std::string_view path) const {
  for (const auto& f : files)
    if (f.path == path) return &f;
  return nullptr;
}

namespace {

Error at(const std::string& where, const std::string& what) { return fail("card profile: " + where + ": " + what); }

Result<void> only_keys(const json& obj, const std::string& where, std::initializer_list<std::string_view> allowed) {
  for (const auto& [key, v] : obj.items())
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) return at(where + "." + key, "unknown field");
  return {};
}

Result<std::string> get_string(const json& obj, const std::string& key, const std::string& where,
                               std::size_t max_len = 64) {
  if (!obj.contains(key)) return at(where + "." + key, "missing");
  const json& v = obj.at(key);
  if (!v.is_string()) return at(where + "." + key, "must be a string");
  auto s = v.get<std::string>();
  if (s.empty() || s.size() > max_len)
    return at(where + "." + key, "must be 1.." + std::to_string(max_len) + " characters");
  if (!std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c < 0x7F; }))
    return at(where + "." + key, "must be printable ASCII");
  return s;
}

Result<std::size_t> get_count(const json& obj, const std::string& key, const std::string& where, std::size_t lo,
                              std::size_t hi) {
  if (!obj.contains(key)) return at(where + "." + key, "missing");
  const json& v = obj.at(key);
  if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<long long>() >= 0))
    return at(where + "." + key, "must be a whole number");
  const auto n = v.get<unsigned long long>();
  if (n < lo || n > hi)
    return at(where + "." + key, std::to_string(n) + " out of " + std::to_string(lo) + ".." + std::to_string(hi));
  return static_cast<std::size_t>(n);
}

Result<Bytes> get_hex(const json& obj, const std::string& key, const std::string& where) {
  auto s = get_string(obj, key, where, 2 * kMaxFileSize);
  if (!s) return s.error();
  auto b = from_hex(*s);
  if (!b) return at(where + "." + key, "not a hex string");
  return *b;
}

// "3F00/7F20/6F07" -> {3F00, 7F20, 6F07}; normalised to upper case.
Result<std::vector<std::uint16_t>> parse_path(const std::string& text, const std::string& where) {
  std::vector<std::uint16_t> fids;
  std::stringstream ss(text);
  std::string part;
  while (std::getline(ss, part, '/')) {
    auto b = from_hex(part);
    if (part.size() != 4 || !b) return at(where, "\"" + text + "\" is not FIDs of 4 hex digits separated by '/'");
    fids.push_back(get_u16(*b, 0));
  }
  if (fids.empty() || fids.front() != card::kFidMf) return at(where, "\"" + text + "\" must start at 3F00");
  if (fids.size() < 2) return at(where, "the MF itself is not listed; it is always there");
  if (fids.size() > 4) return at(where, "\"" + text + "\" is deeper than MF/DF/DF/EF");
  for (std::size_t i = 1; i < fids.size(); ++i)
    if (fids[i] == 0x3F00 || fids[i] == 0x3FFF || fids[i] == 0xFFFF)
      return at(where, "FID " + to_hex(Bytes{static_cast<std::uint8_t>(fids[i] >> 8), static_cast<std::uint8_t>(fids[i])}) +
                           " is reserved");
  return fids;
}

std::string path_string(const std::vector<std::uint16_t>& fids) {
  std::string out;
  for (auto f : fids) {
    if (!out.empty()) out += "/";
    Bytes b;
    put_u16(b, f);
    out += to_hex(b);
  }
  std::transform(out.begin(), out.end(), out.begin(), [](char c) { return static_cast<char>(std::toupper(c)); });
  return out;
}

Result<Access> parse_access(const json& obj, const std::string& key, const std::string& where, bool required) {
  if (!obj.contains(key)) {
    if (required) return at(where + "." + key, "missing");
    return Access::Adm;
  }
  static const std::map<std::string, Access> kNames{
      {"ALW", Access::Alw}, {"CHV1", Access::Chv1}, {"CHV2", Access::Chv2}, {"ADM", Access::Adm}, {"NEV", Access::Nev}};
  const json& v = obj.at(key);
  if (v.is_string()) {
    auto it = kNames.find(v.get<std::string>());
    if (it != kNames.end()) return it->second;
  }
  return at(where + "." + key, "must be one of ALW, CHV1, CHV2, ADM, NEV");
}

Result<AccessRules> parse_access_rules(const json& f, const std::string& where) {
  if (!f.contains("access")) return at(where + ".access", "missing");
  const json& a = f.at("access");
  const std::string w = where + ".access";
  if (!a.is_object()) return at(w, "must be an object");
  if (auto r = only_keys(a, w, {"read", "update", "increase", "rehabilitate", "invalidate"}); !r) return r.error();
  AccessRules rules;
  struct Slot {
    const char* key;
    Access* out;
    bool required;
  };
  for (Slot s : {Slot{"read", &rules.read, true}, Slot{"update", &rules.update, true},
                 Slot{"increase", &rules.increase, false}, Slot{"rehabilitate", &rules.rehabilitate, false},
                 Slot{"invalidate", &rules.invalidate, false}}) {
    auto v = parse_access(a, s.key, w, s.required);
    if (!v) return v.error();
    *s.out = *v;
  }
  return rules;
}

Result<ValueSource> parse_source(const json& v, const std::string& where) {
  static const std::map<std::string, ValueSource> kNames{
      {"imsi", ValueSource::Imsi}, {"iccid", ValueSource::Iccid}, {"msisdn", ValueSource::Msisdn},
      {"spn", ValueSource::Spn},   {"plmnsel", ValueSource::Plmnsel}, {"sst", ValueSource::Sst},
      {"acc", ValueSource::Acc},   {"ad", ValueSource::Ad},       {"ki", ValueSource::Ki},
      {"opc", ValueSource::Opc},   {"hex", ValueSource::Hex}};
  if (!v.contains("from")) return at(where + ".from", "missing");
  const json& f = v.at("from");
  if (f.is_string()) {
    auto it = kNames.find(f.get<std::string>());
    if (it != kNames.end()) return it->second;
  }
  return at(where + ".from", "must be one of imsi, iccid, msisdn, spn, plmnsel, sst, acc, ad, ki, opc, hex");
}

// The value and whether it fits the file it goes to.
Result<ValueSpec> parse_value(const json& v, const ProfileFile& file, const std::string& where) {
  if (!v.is_object()) return at(where, "must be an object");
  auto src = parse_source(v, where);
  if (!src) return src.error();
  ValueSpec spec;
  spec.from = *src;
  const bool records = file.structure != Structure::Transparent;
  auto need_transparent = [&]() -> Result<void> {
    if (records) return at(where, std::string(name(spec.from)) + " goes to a transparent EF");
    return {};
  };
  auto need_size = [&](std::size_t lo, std::size_t hi) -> Result<void> {
    if (file.size < lo || file.size > hi)
      return at(where, std::string(name(spec.from)) + " needs a file of " + std::to_string(lo) + ".." +
                           std::to_string(hi) + " bytes, the file has " + std::to_string(file.size));
    return {};
  };
  Result<void> ok;
  switch (spec.from) {
    case ValueSource::Imsi:
    case ValueSource::Acc:
    case ValueSource::Iccid:
      if (auto r = only_keys(v, where, {"from"}); !r) return r.error();
      if (!(ok = need_transparent())) return ok.error();
      if (spec.from == ValueSource::Imsi && !(ok = need_size(9, 9))) return ok.error();
      if (spec.from == ValueSource::Acc && !(ok = need_size(2, 2))) return ok.error();
      if (spec.from == ValueSource::Iccid && !(ok = need_size(10, 10))) return ok.error();
      break;
    case ValueSource::Ad:
      if (auto r = only_keys(v, where, {"from"}); !r) return r.error();
      if (!(ok = need_transparent()) || !(ok = need_size(3, 8))) return ok.error();
      break;
    case ValueSource::Plmnsel:
      if (auto r = only_keys(v, where, {"from"}); !r) return r.error();
      if (!(ok = need_transparent())) return ok.error();
      if (file.size % 3 != 0) return at(where, "plmnsel needs a file size that is a multiple of 3");
      break;
    case ValueSource::Spn:
      if (auto r = only_keys(v, where, {"from", "display_condition"}); !r) return r.error();
      if (!(ok = need_transparent()) || !(ok = need_size(2, 17))) return ok.error();
      if (v.contains("display_condition")) {
        auto d = get_count(v, "display_condition", where, 0, 3);
        if (!d) return d.error();
        spec.display_condition = static_cast<std::uint8_t>(*d);
      }
      break;
    case ValueSource::Sst: {
      if (auto r = only_keys(v, where, {"from", "services"}); !r) return r.error();
      if (!(ok = need_transparent()) || !(ok = need_size(2, 16))) return ok.error();
      if (!v.contains("services") || !v.at("services").is_array())
        return at(where + ".services", "must be an array of service numbers");
      for (std::size_t i = 0; i < v.at("services").size(); ++i) {
        const json& s = v.at("services")[i];
        if (!s.is_number_integer()) return at(where + ".services[" + std::to_string(i) + "]", "must be a number");
        spec.services.push_back(s.get<int>());
      }
      if (auto e = encode_sst(spec.services, file.size); !e) return at(where + ".services", e.error().message);
      break;
    }
    case ValueSource::Msisdn:
      if (auto r = only_keys(v, where, {"from", "ton_npi", "alpha", "record"}); !r) return r.error();
      if (!records || file.record_length < 14) return at(where, "msisdn goes to a record EF with records of 14+ bytes");
      if (v.contains("ton_npi")) {
        auto t = get_hex(v, "ton_npi", where);
        if (!t) return t.error();
        if (t->size() != 1 || !((*t)[0] & 0x80)) return at(where + ".ton_npi", "must be one byte with bit 8 set, e.g. \"91\"");
        spec.ton_npi = (*t)[0];
      }
      if (v.contains("alpha")) {
        if (!v.at("alpha").is_string()) return at(where + ".alpha", "must be a string");
        spec.alpha = v.at("alpha").get<std::string>();
        auto a = encode_gsm7(spec.alpha);
        if (!a) return at(where + ".alpha", a.error().message);
        if (a->size() > file.record_length - 14) return at(where + ".alpha", "longer than the record's alpha field");
      }
      break;
    case ValueSource::Ki:
    case ValueSource::Opc:
      if (auto r = only_keys(v, where, {"from", "prefix"}); !r) return r.error();
      if (!(ok = need_transparent())) return ok.error();
      if (v.contains("prefix")) {
        auto p = get_hex(v, "prefix", where);
        if (!p) return p.error();
        spec.prefix = *p;
      }
      if (!(ok = need_size(16 + spec.prefix.size(), 16 + spec.prefix.size()))) return ok.error();
      if (file.access.read != Access::Nev) return at(where, "a key file must have read NEV");
      break;
    case ValueSource::Hex: {
      if (auto r = only_keys(v, where, {"from", "hex", "record"}); !r) return r.error();
      auto h = get_hex(v, "hex", where);
      if (!h) return h.error();
      if (h->empty()) return at(where + ".hex", "empty");
      spec.hex = *h;
      break;
    }
  }
  if (v.contains("record")) {
    if (!records) return at(where + ".record", "only for record EFs");
    auto r = get_count(v, "record", where, 1, file.record_count);
    if (!r) return r.error();
    spec.record = *r;
  }
  if (spec.from == ValueSource::Hex) {
    if (!records && spec.hex.size() > file.size)
      return at(where + ".hex", std::to_string(spec.hex.size()) + " bytes do not fit in " + std::to_string(file.size));
    if (records) {
      if (spec.hex.size() % file.record_length != 0) return at(where + ".hex", "must be whole records");
      const std::size_t n = spec.hex.size() / file.record_length;
      if (file.structure == Structure::Cyclic && n != 1) return at(where + ".hex", "a cyclic EF gets one record");
      if (spec.record - 1 + n > file.record_count) return at(where + ".hex", "more records than the file holds");
    }
  }
  return spec;
}

Result<ProfileFile> parse_file(const json& j, const std::string& where, const CardProfile& earlier) {
  if (!j.is_object()) return at(where, "must be an object");
  ProfileFile f;
  auto path = get_string(j, "path", where, 32);
  if (!path) return path.error();
  auto fids = parse_path(*path, where + ".path");
  if (!fids) return fids.error();
  f.fids = *fids;
  f.path = path_string(f.fids);
  if (earlier.find(f.path)) return at(where + ".path", f.path + " is listed twice");
  const std::string parent = path_string(std::vector<std::uint16_t>(f.fids.begin(), f.fids.end() - 1));
  if (parent != "3F00") {
    const ProfileFile* p = earlier.find(parent);
    if (!p || p->kind != FileKind::Df) return at(where + ".path", "parent " + parent + " is not a DF listed before");
  }
  auto type = get_string(j, "type", where);
  if (!type) return type.error();
  if (*type != "df" && *type != "ef") return at(where + ".type", "must be df or ef");
  f.kind = *type == "df" ? FileKind::Df : FileKind::Ef;
  if (j.contains("name")) {
    auto n = get_string(j, "name", where, 32);
    if (!n) return n.error();
    f.name = *n;
  }
  if (j.contains("create")) {
    if (!j.at("create").is_boolean()) return at(where + ".create", "must be true or false");
    f.create = j.at("create").get<bool>();
  }
  if (f.kind == FileKind::Df) {
    if (auto r = only_keys(j, where, {"path", "type", "name", "create"}); !r) return r.error();
    if (f.fids.size() > 3) return at(where + ".path", "a DF at this depth leaves no room for its EFs");
    return f;
  }
  if (auto r = only_keys(j, where,
                         {"path", "type", "name", "create", "structure", "size", "record_length", "record_count",
                          "access", "value"});
      !r)
    return r.error();
  auto st = get_string(j, "structure", where);
  if (!st) return st.error();
  if (*st == "transparent") {
    f.structure = Structure::Transparent;
    if (j.contains("record_length") || j.contains("record_count"))
      return at(where, "a transparent EF has size, not record_length/record_count");
    auto size = get_count(j, "size", where, 1, kMaxFileSize);
    if (!size) return size.error();
    f.size = *size;
  } else if (*st == "linear_fixed" || *st == "cyclic") {
    f.structure = *st == "cyclic" ? Structure::Cyclic : Structure::LinearFixed;
    if (j.contains("size")) return at(where + ".size", "a record EF has record_length and record_count instead");
    auto len = get_count(j, "record_length", where, 1, kMaxRecordLength);
    if (!len) return len.error();
    auto count = get_count(j, "record_count", where, 1, kMaxRecordCount);
    if (!count) return count.error();
    f.record_length = *len;
    f.record_count = *count;
    f.size = *len * *count;
    if (f.size > kMaxFileSize) return at(where, "record_length x record_count is over " + std::to_string(kMaxFileSize));
  } else {
    return at(where + ".structure", "must be transparent, linear_fixed or cyclic");
  }
  auto access = parse_access_rules(j, where);
  if (!access) return access.error();
  f.access = *access;
  if (j.contains("value")) {
    auto v = parse_value(j.at("value"), f, where + ".value");
    if (!v) return v.error();
    f.value = *v;
    f.is_secret = v->from == ValueSource::Ki || v->from == ValueSource::Opc;
  }
  return f;
}

Result<CodeSpec> parse_code(const json& c, const std::string& where, bool is_unblock) {
  if (!c.is_object()) return at(where, "must be an object");
  if (auto r = only_keys(c, where, {"file", "from", "entry", "confirm"}); !r) return r.error();
  CodeSpec spec;
  auto file = get_string(c, "file", where, 32);
  if (!file) return file.error();
  spec.file = *file;
  auto from = get_string(c, "from", where);
  if (!from) return from.error();
  if (*from == "keypad") {
    spec.from = CodeSource::Keypad;
    auto entry = get_string(c, "entry", where);
    if (!entry) return entry.error();
    if (*entry != "customer_pin" && *entry != "customer_puk")
      return at(where + ".entry", "must be customer_pin or customer_puk");
    spec.entry = *entry == "customer_pin" ? KeypadEntry::CustomerPin : KeypadEntry::CustomerPuk;
    if ((spec.entry == KeypadEntry::CustomerPuk) != is_unblock)
      return at(where + ".entry", is_unblock ? "an unblock code comes from customer_puk" : "a CHV comes from customer_pin");
  } else if (*from == "random") {
    spec.from = CodeSource::Random;
    if (c.contains("entry")) return at(where + ".entry", "only for codes typed on the keypad");
  } else {
    return at(where + ".from", "must be keypad or random");
  }
  if (c.contains("confirm")) {
    if (!c.at("confirm").is_boolean()) return at(where + ".confirm", "must be true or false");
    spec.confirm = c.at("confirm").get<bool>();
    if (spec.confirm && spec.from != CodeSource::Keypad) return at(where + ".confirm", "only for keypad codes");
  }
  return spec;
}

// A code file: an 8-byte transparent EF in the profile, nobody can read it, nothing else writes it.
Result<void> check_code_file(CardProfile& p, const std::string& path, const std::string& where) {
  for (auto& f : p.files) {
    if (f.path != path) continue;
    if (f.kind != FileKind::Ef || f.structure != Structure::Transparent || f.size != 8)
      return at(where, path + " must be a transparent EF of 8 bytes");
    if (f.value) return at(where, path + " gets the code; it must not have a value of its own");
    if (f.access.read != Access::Nev) return at(where, path + " holds a code and must have read NEV");
    if (f.is_secret) return at(where, path + " is used for two codes");
    f.is_secret = true;
    return {};
  }
  return at(where, path + " is not listed in files");
}

Result<CardProfile> parse(const json& j) {
  if (!j.is_object()) return at("$", "must be an object");
  if (auto r = only_keys(j, "$", {"name", "version", "description", "files", "codes", "adm", "gsm_df"}); !r)
    return r.error();
  CardProfile p;
  auto n = get_string(j, "name", "$");
  if (!n) return n.error();
  p.name = *n;
  if (!j.contains("version")) return at("$.version", "missing");
  if (j.at("version").is_number_unsigned()) {
    p.version = std::to_string(j.at("version").get<unsigned long long>());
  } else {
    auto v = get_string(j, "version", "$", 32);
    if (!v) return v.error();
    p.version = *v;
  }
  if (j.contains("description") && !j.at("description").is_string()) return at("$.description", "must be a string");

  if (!j.contains("files") || !j.at("files").is_array()) return at("$.files", "missing or not an array");
  const json& files = j.at("files");
  if (files.empty() || files.size() > kMaxProfileFiles)
    return at("$.files", "must list 1.." + std::to_string(kMaxProfileFiles) + " files");
  for (std::size_t i = 0; i < files.size(); ++i) {
    auto f = parse_file(files[i], "$.files[" + std::to_string(i) + "]", p);
    if (!f) return f.error();
    p.files.push_back(std::move(*f));
  }
  for (const auto& f : p.files) {
    if (f.create) continue;
    const ProfileFile* parent = p.find(path_string(std::vector<std::uint16_t>(f.fids.begin(), f.fids.end() - 1)));
    if (parent && parent->create) {
      auto idx = static_cast<std::size_t>(&f - p.files.data());
      return at("$.files[" + std::to_string(idx) + "].create", "cannot be false inside a DF the script creates");
    }
  }

  if (!j.contains("codes") || !j.at("codes").is_object()) return at("$.codes", "missing or not an object");
  const json& codes = j.at("codes");
  if (auto r = only_keys(codes, "$.codes", {"chv1", "unblock1", "chv2", "unblock2"}); !r) return r.error();
  struct Slot {
    const char* key;
    std::optional<CodeSpec>* out;
    bool unblock;
  };
  for (Slot s : {Slot{"chv1", &p.chv1, false}, Slot{"unblock1", &p.unblock1, true}, Slot{"chv2", &p.chv2, false},
                 Slot{"unblock2", &p.unblock2, true}}) {
    if (!codes.contains(s.key)) continue;
    const std::string where = std::string("$.codes.") + s.key;
    auto c = parse_code(codes.at(s.key), where, s.unblock);
    if (!c) return c.error();
    if (auto r = check_code_file(p, c->file, where + ".file"); !r) return r.error();
    *s.out = *c;
  }
  if (!p.chv1 || p.chv1->from != CodeSource::Keypad)
    return at("$.codes.chv1", "required, from the keypad (the customer PIN; RUN GSM ALGORITHM needs it)");
  if (p.unblock1 && p.unblock1->from != CodeSource::Keypad)
    return at("$.codes.unblock1", "must come from the keypad (the customer PUK)");
  if (p.chv2 && p.chv2->from == CodeSource::Keypad) return at("$.codes.chv2", "the keypad gives only PIN and PUK; use random");
  if (p.unblock2 && p.unblock2->from == CodeSource::Keypad)
    return at("$.codes.unblock2", "the keypad gives only PIN and PUK; use random");

  if (!j.contains("adm") || !j.at("adm").is_object()) return at("$.adm", "missing or not an object");
  const json& adm = j.at("adm");
  if (auto r = only_keys(adm, "$.adm", {"from", "file", "verify_p2"}); !r) return r.error();
  auto from = get_string(adm, "from", "$.adm");
  if (!from) return from.error();
  if (*from != "issuer_code") return at("$.adm.from", "must be issuer_code");
  auto file = get_string(adm, "file", "$.adm", 32);
  if (!file) return file.error();
  p.adm.file = *file;
  if (auto r = check_code_file(p, p.adm.file, "$.adm.file"); !r) return r.error();
  if (adm.contains("verify_p2")) {
    auto p2 = get_hex(adm, "verify_p2", "$.adm");
    if (!p2) return p2.error();
    if (p2->size() != 1 || (*p2)[0] == 0x01 || (*p2)[0] == 0x02)
      return at("$.adm.verify_p2", "must be one byte and not a CHV (01, 02)");
    p.adm.verify_p2 = (*p2)[0];
  }
  if (j.contains("gsm_df")) {
    auto g = get_string(j, "gsm_df", "$", 32);
    if (!g) return g.error();
    p.gsm_df = *g;
  }
  const ProfileFile* gsm = p.find(p.gsm_df);
  if (!gsm || gsm->kind != FileKind::Df) return at("$.gsm_df", p.gsm_df + " is not a DF listed in files");
  return p;
}

}  // namespace

Result<CardProfile> parse_card_profile(std::string_view json_text) {
  if (json_text.size() > kMaxProfileJson) return at("$", "larger than " + std::to_string(kMaxProfileJson) + " bytes");
  json j = json::parse(json_text, nullptr, false);
  if (j.is_discarded()) return at("$", "not valid JSON");
  return parse(j);
}

Result<CardProfile> load_card_profile(const std::string& file_path) {
  std::ifstream in(file_path, std::ios::binary);
  if (!in) return fail("card profile " + file_path + ": cannot open; check the path");
  std::string text;
  char buf[4096];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, static_cast<std::size_t>(in.gcount()));
    if (text.size() > kMaxProfileJson) return fail("card profile " + file_path + ": larger than 256 KiB");
  }
  auto p = parse_card_profile(text);
  if (!p) return fail(file_path + ": " + p.error().message);
  return p;
}

}  // namespace cardperso::perso
