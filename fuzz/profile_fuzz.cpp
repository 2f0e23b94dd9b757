// perso::parse_card_profile on arbitrary text (the issuer's card-profile JSON). Invariants: a refusal
// names where it is ("card profile: <json path>: ..."); an accepted profile keeps every documented
// bound (1..200 files, paths MF/DF/DF/EF as FIDs from 3F00, unique, parents listed before as DFs, EF
// sizes and record geometry, code files 8-byte transparent EFs read NEV), parsing is deterministic,
// and the script the ADS would build from it with fixed values either is refused with a reason or
// validates and round-trips through encode_script/decode_script unchanged.
#include <cstdint>
#include <string>

#include "cardperso/perso/card_profile.hpp"
#include "cardperso/perso/script.hpp"
#include "cardperso/perso/script_builder.hpp"
#include "fuzz_check.hpp"
#include "perso_fixture.hpp"

using namespace cardperso;
using namespace cardperso::perso;

namespace {

std::string path_of(const std::vector<std::uint16_t>& fids) {
  std::string p;
  for (auto fid : fids) {
    if (!p.empty()) p += '/';
    p += to_hex(Bytes{static_cast<std::uint8_t>(fid >> 8), static_cast<std::uint8_t>(fid)});
  }
  for (auto& c : p) c = static_cast<char>(c >= 'a' && c <= 'f' ? c - 'a' + 'A' : c);
  return p;
}

void check_code(const CardProfile& p, const std::optional<CodeSpec>& code) {
  if (!code) return;
  const ProfileFile* f = p.find(code->file);
  FUZZ_CHECK(f != nullptr, "a code file that is not listed was accepted");
  FUZZ_CHECK(f->kind == FileKind::Ef && f->structure == Structure::Transparent && f->size == 8,
             "a code file that is not an 8-byte transparent EF was accepted");
  FUZZ_CHECK(f->access.read == Access::Nev && !f->value && f->is_secret, "a code file readable or with a value");
  if (code->confirm) FUZZ_CHECK(code->from == CodeSource::Keypad, "confirm on a random code");
}

void check_bounds(const CardProfile& p) {
  FUZZ_CHECK(!p.files.empty() && p.files.size() <= kMaxProfileFiles, "file count out of bounds");
  for (std::size_t i = 0; i < p.files.size(); ++i) {
    const ProfileFile& f = p.files[i];
    FUZZ_CHECK(f.fids.size() >= 2 && f.fids.size() <= 4 && f.fids.front() == 0x3F00, "path not MF/DF/DF/EF");
    FUZZ_CHECK(path_of(f.fids) == f.path, "path text and FIDs disagree");
    FUZZ_CHECK(p.find(f.path) == &f, "a path listed twice, or find() does not find it");
    const std::string parent = f.path.substr(0, f.path.rfind('/'));
    if (parent != "3F00") {
      const ProfileFile* d = p.find(parent);
      FUZZ_CHECK(d != nullptr && d->kind == FileKind::Df && d < &f, "parent not a DF listed before");
    }
    FUZZ_CHECK(access_bytes(f.access).size() == 3, "access bytes are 3 bytes");
    if (f.kind == FileKind::Df) {
      FUZZ_CHECK(!f.value && f.fids.size() <= 3, "a DF with a value or too deep");
      continue;
    }
    FUZZ_CHECK(f.size >= 1 && f.size <= kMaxFileSize, "EF size out of bounds");
    if (f.structure != Structure::Transparent) {
      FUZZ_CHECK(f.record_length >= 1 && f.record_length <= kMaxRecordLength && f.record_count >= 1 &&
                     f.record_count <= kMaxRecordCount && f.size == f.record_length * f.record_count,
                 "record geometry out of bounds");
    }
    if (f.value && f.value->from == ValueSource::Hex) {
      FUZZ_CHECK(!f.value->hex.empty() && f.value->hex.size() <= f.size, "hex value does not fit");
    }
    if (f.value && (f.value->from == ValueSource::Ki || f.value->from == ValueSource::Opc))
      FUZZ_CHECK(f.is_secret && f.access.read == Access::Nev, "a key file that is readable or not secret");
  }
  for (const auto* c : {&p.chv1, &p.unblock1, &p.chv2, &p.unblock2}) check_code(p, *c);
  FUZZ_CHECK(p.chv1.has_value() && p.chv1->from == CodeSource::Keypad, "chv1 must come from the keypad");
}

// Personalise mode: the customer always types the PIN (CHV1 comes from the keypad), confirms it when
// the profile says so, and types a PUK exactly when UNBLOCK1 comes from the keypad.
bool prompts_match(const CardProfile& p, const KeypadPrompts& prompts) {
  const bool puk = p.unblock1.has_value() && p.unblock1->from == CodeSource::Keypad;
  return prompts.pin && prompts.pin_confirm == p.chv1->confirm && prompts.puk == puk;
}

void check_script(const CardProfile& p) {
  auto script = build_personalisation_script(p, fuzz_perso::values());
  if (!script) {
    FUZZ_CHECK(!script.error().message.empty(), "a refused script must say why");
    return;
  }
  FUZZ_CHECK(validate_script(*script).ok(), "the builder made a script validate_script refuses");
  auto bytes = encode_script(*script);
  FUZZ_CHECK(bytes.ok(), "the builder made a script encode_script refuses");
  FUZZ_CHECK(bytes->size() <= kMaxScriptBytes, "an encoded script over the bound");
  auto back = decode_script(bytes->view());
  FUZZ_CHECK(back.ok(), "an encoded script does not decode");
  FUZZ_CHECK(back->prompts == script->prompts && back->steps.size() == script->steps.size(), "round trip changed it");
  for (std::size_t i = 0; i < script->steps.size(); ++i) {
    const ScriptStep& a = script->steps[i];
    const ScriptStep& b = back->steps[i];
    FUZZ_CHECK(a.apdu.view().size() == b.apdu.view().size() &&
                   std::equal(a.apdu.view().begin(), a.apdu.view().end(), b.apdu.view().begin()) &&
                   a.expect == b.expect && a.placeholder == b.placeholder && a.secret == b.secret &&
                   a.want_response == b.want_response && a.label == b.label,
               "a step changed through encode/decode");
  }
  FUZZ_CHECK(count_apdus(*script) >= script->steps.size(), "fewer APDUs than steps");
  FUZZ_CHECK(prompts_match(p, script->prompts), "the keypad prompts do not follow the profile's codes");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > kMaxProfileJson) return 0;  // load_card_profile refuses larger files before parsing
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto profile = parse_card_profile(text);
  if (!profile) {
    FUZZ_CHECK(profile.error().message.rfind("card profile: ", 0) == 0, "a refusal must name the JSON path");
    return 0;
  }
  check_bounds(*profile);
  auto again = parse_card_profile(text);
  FUZZ_CHECK(again.ok() && again->files.size() == profile->files.size() && again->name == profile->name,
             "parsing is not deterministic");
  check_script(*profile);
  return 0;
}
