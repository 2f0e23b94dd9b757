#include "cardperso/perso/script_builder.hpp"

#include <algorithm>

#include "cardperso/card/apdu_builders.hpp"
#include "cardperso/card/file_ids.hpp"
#include "cardperso/common/crypto.hpp"
#include "cardperso/common/milenage.hpp"
#include "cardperso/perso/file_values.hpp"

namespace cardperso::perso {

namespace {

using Fids = std::vector<std::uint16_t>;

using card::kCodeSize;
constexpr std::size_t kMaxChunk = 255;  // one UPDATE BINARY carries at most P3 = 255 bytes

Fids parent_of(const Fids& f) { return Fids(f.begin(), f.end() - 1); }

std::string path_label(const Fids& fids) {
  std::string out;
  for (auto f : fids) {
    Bytes b;
    put_u16(b, f);
    std::string h = to_hex(b);
    std::transform(h.begin(), h.end(), h.begin(), [](char c) { return static_cast<char>(std::toupper(c)); });
    out += (out.empty() ? "" : "/") + h;
  }
  return out;
}

std::string file_label(const ProfileFile& f) { return f.path + (f.name.empty() ? "" : " (" + f.name + ")"); }

Fids fids_of(const CardProfile& p, const std::string& path) {
  const ProfileFile* f = p.find(path);
  return f ? f->fids : Fids{};
}

// Builds the steps and remembers what the card has selected, so that no SELECT is sent for a file
// or DF that is already current. CREATE FILE selects what it creates (TS 102 222, docs/cards.md).
class Composer {
 public:
  Script script;

  void step(ByteView apdu, std::vector<SwPattern> expect, std::string label, bool secret = false,
            std::optional<Placeholder> placeholder = std::nullopt, bool want_response = false) {
    ScriptStep s;
    s.apdu = SecretBytes(apdu);
    s.expect = std::move(expect);
    s.label = std::move(label);
    s.secret = secret;
    s.placeholder = placeholder;
    s.want_response = want_response;
    script.steps.push_back(std::move(s));
  }

  void verify(std::uint8_t p2, ByteView code, std::string label) {
    step(card::verify_chv_apdu(p2, code).view(), {kSwOk}, std::move(label), true);
  }

  void verify_pin() {
    const Bytes blank(kCodeSize, 0xFF);
    step(card::verify_chv_apdu(card::kRefChv1, blank).view(), {kSwOk}, "verify CHV1 (customer PIN)", true,
         Placeholder{PlaceholderKind::CustomerPin, 0, 8, 0xFF});
  }

  void select_df(const Fids& df) {
    if (known_ && cur_df_ == df) return;
    const bool by_fid = df.size() == 1 || (known_ && (parent_of(df) == cur_df_ || (cur_df_.size() > 1 && df == parent_of(cur_df_)) ||
                                                      (df.size() == cur_df_.size() && parent_of(df) == parent_of(cur_df_))));
    select(df, by_fid);
    cur_df_ = df;
    cur_ef_.clear();
    known_ = true;
  }

  void select_ef(const Fids& ef) {
    if (known_ && cur_ef_ == ef) return;
    select(ef, known_ && parent_of(ef) == cur_df_);
    cur_df_ = parent_of(ef);
    cur_ef_ = ef;
    known_ = true;
  }

  void create(const ProfileFile& f) {
    select_df(parent_of(f.fids));
    card::NewFile file;
    file.fid = f.fids.back();
    if (f.kind == FileKind::Df) {
      file.kind = card::NewFileKind::Df;
    } else {
      switch (f.structure) {
        case Structure::Transparent: file.kind = card::NewFileKind::Transparent; break;
        case Structure::LinearFixed: file.kind = card::NewFileKind::LinearFixed; break;
        case Structure::Cyclic: file.kind = card::NewFileKind::Cyclic; break;
      }
      file.size = static_cast<std::uint16_t>(f.size);
      file.record_length = static_cast<std::uint16_t>(f.record_length);
      file.record_count = static_cast<std::uint8_t>(f.record_count);
      const Bytes access = access_bytes(f.access);
      std::copy(access.begin(), access.end(), file.access.begin());
    }
    const Bytes apdu = card::create_file_apdu(file);
    step(apdu, {kSwOk}, "create " + file_label(f));
    // Idempotent against an earlier run cut short: the file may exist already (6A89); then it is
    // selected instead, and everything written to it after this step is rewritten in full.
    script.steps.back().if_exists = card::select_apdu(f.fids.back());
    if (f.kind == FileKind::Df) {
      cur_df_ = f.fids;
      cur_ef_.clear();
    } else {
      cur_df_ = parent_of(f.fids);
      cur_ef_ = f.fids;
    }
  }

  // Writes `content` (transparent: from offset 0; records: whole records from `first_record`).
  void write(const ProfileFile& f, ByteView content, std::size_t first_record, bool secret,
             std::optional<Placeholder> placeholder = std::nullopt) {
    select_ef(f.fids);
    const std::string label = "update " + file_label(f);
    if (f.structure == Structure::Transparent) {
      for (std::size_t off = 0; off < content.size(); off += kMaxChunk) {
        const std::size_t n = std::min(kMaxChunk, content.size() - off);
        Bytes apdu = card::update_binary_apdu(static_cast<std::uint16_t>(off), content.subspan(off, n));
        step(apdu, {kSwOk}, label, secret, placeholder);
        secure_wipe(apdu.data(), apdu.size());
      }
      return;
    }
    for (std::size_t i = 0; i * f.record_length < content.size(); ++i) {
      // A cyclic EF is written only with PREVIOUS: the oldest record is replaced and becomes record 1.
      const bool cyclic = f.structure == Structure::Cyclic;
      Bytes apdu = card::update_record_apdu(static_cast<std::uint8_t>(cyclic ? 0 : first_record + i),
                                            cyclic ? card::kRecordPrevious : card::kRecordAbsolute,
                                            content.subspan(i * f.record_length, f.record_length));
      step(apdu, {kSwOk}, label + " record " + std::to_string(cyclic ? 1 : first_record + i), secret);
      secure_wipe(apdu.data(), apdu.size());
    }
  }

  void run_gsm(const Fids& gsm_df, ByteView rand) {
    select_df(gsm_df);
    step(card::run_gsm_algorithm_apdu(rand), {SwPattern{0x9F0C, 0xFFFF}}, "run GSM algorithm (proof)", false, std::nullopt, true);
  }

 private:
  void select(const Fids& target, bool by_fid) {
    // By path: from the MF without 3F00 (docs/cards.md §1.3, SELECT by path P1 = 08).
    const Bytes apdu = by_fid ? card::select_apdu(target.back()) : card::select_path_apdu(Fids(target.begin() + 1, target.end()));
    // The response (file size, access conditions) is not needed: no GET RESPONSE.
    step(apdu, {kSw9fAny}, "select " + path_label(target));
  }

  bool known_ = false;  // nothing is assumed about the card's selection until the first SELECT
  Fids cur_df_, cur_ef_;
};

// 8 random ASCII digits, for codes the ADS chooses (CHV2, UNBLOCK2).
SecretBytes random_digits() {
  SecretBytes out(kCodeSize);
  std::size_t filled = 0;
  while (filled < kCodeSize) {
    SecretBytes pool = crypto::random_secret(16);
    for (std::size_t i = 0; i < pool.size() && filled < kCodeSize; ++i)
      if (pool[i] < 250) out[filled++] = static_cast<std::uint8_t>('0' + pool[i] % 10);  // no modulo bias
  }
  return out;
}

Result<SecretBytes> encode_value(const ProfileFile& f, const PersoValues& v) {
  const ValueSpec& spec = *f.value;
  const std::string where = "file " + file_label(f) + ": ";
  if (spec.from == ValueSource::Ki || spec.from == ValueSource::Opc) {
    const SecretBytes& key = spec.from == ValueSource::Ki ? v.ki : v.opc;
    if (key.size() != 16) return fail(where + "the " + std::string(name(spec.from)) + " must be 16 bytes");
    SecretBytes s(spec.prefix.size() + 16);
    std::copy(spec.prefix.begin(), spec.prefix.end(), s.data());
    std::copy(key.data(), key.data() + 16, s.data() + spec.prefix.size());
    return s;
  }
  auto out = encode_clear_value(f, v);
  if (!out) return fail(where + out.error().message);
  return SecretBytes(ByteView(*out));
}

// The access condition a write needs, and whether the script can present it.
Result<bool> needs_chv1(const ProfileFile& f) {
  switch (f.access.update) {
    case Access::Alw:
    case Access::Adm: return false;
    case Access::Chv1: return true;
    case Access::Chv2:
    case Access::Nev: break;
  }
  return fail("file " + file_label(f) + ": update access is CHV2 or NEV; the script cannot write its value");
}

std::size_t write_count(const ProfileFile& f) {
  if (f.structure == Structure::Transparent) {
    const std::size_t len = f.value && f.value->from == ValueSource::Hex ? f.value->hex.size() : f.size;
    return (len + kMaxChunk - 1) / kMaxChunk;
  }
  return f.value && f.value->from == ValueSource::Hex ? f.value->hex.size() / f.record_length : 1;
}

std::vector<const CodeSpec*> code_specs(const CardProfile& p) {
  std::vector<const CodeSpec*> out;
  for (const auto* c : {&p.chv1, &p.unblock1, &p.chv2, &p.unblock2})
    if (*c) out.push_back(&**c);
  return out;
}

bool is_code_file(const CardProfile& p, const std::string& path) {
  if (path == p.adm.file) return true;
  auto codes = code_specs(p);
  return std::any_of(codes.begin(), codes.end(), [&](const CodeSpec* c) { return c->file == path; });
}

Result<void> check_code_file_placement(const CardProfile& p, const ProfileFile& f) {
  const ProfileFile* parent = p.find(path_label(parent_of(f.fids)));
  if (parent && parent->create)
    return fail("file " + f.path + ": a code file must lie in a DF that exists before the script runs");
  if (f.access.update != Access::Adm) return fail("file " + f.path + ": a code file must have update ADM");
  return {};
}

}  // namespace

Result<Script> build_personalisation_script(const CardProfile& profile, const PersoValues& v) {
  const bool personalise = v.mode == PersoMode::Personalise;
  if (v.opening_code.size() != kCodeSize) return fail("opening code must be 8 bytes");
  if (!v.opening_alternative.empty() && (v.opening_alternative.size() != kCodeSize || !personalise))
    return fail("an alternative opening code is 8 bytes, for a personalisation only");
  if (personalise && v.issuer_code.size() != kCodeSize) return fail("issuer code must be 8 bytes to personalise");
  if (!v.issuer_code.empty() && v.issuer_code.size() != kCodeSize) return fail("issuer code must be 8 bytes");
  if (!v.rand.empty() && v.rand.size() != 16) return fail("RAND must be 16 bytes");
  if (personalise && v.rand.empty()) return fail("RAND missing: personalisation ends with the RUN GSM ALGORITHM proof");
  if (!v.iccid.empty() && (v.iccid.size() < 18 || v.iccid.size() > 20 || !all_digits(v.iccid)))
    return fail("ICCID must be 18 to 20 digits");
  const ProfileFile* adm_file = profile.find(profile.adm.file);
  if (!adm_file) return fail("card profile: ADM file " + profile.adm.file + " is not listed");
  if (auto r = check_code_file_placement(profile, *adm_file); !r) return r.error();

  // The subscriber files this run writes, with their contents.
  struct Write {
    const ProfileFile* file;
    SecretBytes content;
  };
  std::vector<Write> writes;
  bool chv1_needed = personalise || !v.rand.empty();
  for (const auto& f : profile.files) {
    if (!f.value || is_code_file(profile, f.path)) continue;
    if (!personalise && !written_in_modify(f.value->from, v)) continue;
    auto content = encode_value(f, v);
    if (!content) return content.error();
    auto chv1 = needs_chv1(f);
    if (!chv1) return chv1.error();
    chv1_needed = chv1_needed || *chv1;
    writes.push_back({&f, std::move(*content)});
  }
  if (!personalise && writes.empty() && v.issuer_code.empty() && v.rand.empty())
    return fail("modification: no value to change was given");

  Composer c;
  c.verify(profile.adm.verify_p2, v.opening_code.view(),
           !v.opening_alternative.empty()
               ? (v.opening_is_issuer_code ? "verify ADM1 (issuer code, else master code)"
                                           : "verify ADM1 (master code, else issuer code)")
           : personalise && !v.opening_is_issuer_code ? "verify ADM1 (manufacturer master code)"
                                                      : "verify ADM1 (issuer code)");
  if (!v.opening_alternative.empty()) {
    SecretBytes alt(c.script.steps[0].apdu.view());
    std::copy(v.opening_alternative.data(), v.opening_alternative.data() + kCodeSize, alt.data() + 5);
    c.script.steps[0].if_refused = std::move(alt);
  }
  if (adm_file->create && personalise) c.create(*adm_file);
  if (!v.issuer_code.empty()) c.write(*adm_file, v.issuer_code.view(), 1, true);

  if (personalise) {
    // Codes first: once CHV1 exists, files with CHV1 access need it verified, and the PIN is at hand.
    for (const CodeSpec* code : code_specs(profile)) {
      const ProfileFile* f = profile.find(code->file);
      if (auto r = check_code_file_placement(profile, *f); !r) return r.error();
      if (f->create) c.create(*f);
      if (code->from == CodeSource::Keypad) {
        const Bytes blank(kCodeSize, 0xFF);
        const auto kind = code->entry == KeypadEntry::CustomerPin ? PlaceholderKind::CustomerPin
                                                                    : PlaceholderKind::CustomerPuk;
        c.write(*f, blank, 1, true, Placeholder{kind, 0, 8, 0xFF});
        if (kind == PlaceholderKind::CustomerPin) {
          c.script.prompts.pin = true;
          c.script.prompts.pin_confirm = c.script.prompts.pin_confirm || code->confirm;
        } else {
          c.script.prompts.puk = true;
        }
      } else {
        SecretBytes digits = random_digits();
        c.write(*f, digits.view(), 1, true);
      }
    }
  }
  if (chv1_needed) {
    c.verify_pin();
    c.script.prompts.pin = true;
  }
  for (const auto& f : profile.files) {
    if (personalise && f.create && !is_code_file(profile, f.path)) c.create(f);
    auto w = std::find_if(writes.begin(), writes.end(), [&](const Write& x) { return x.file == &f; });
    if (w != writes.end())
      c.write(f, w->content.view(), f.value->record, f.is_secret);
  }
  if (!v.rand.empty()) {
    const Fids gsm = fids_of(profile, profile.gsm_df);
    c.run_gsm(gsm, v.rand);
  }
  if (auto ok = validate_script(c.script); !ok) return fail("internal: built an invalid script: " + ok.error().message);
  return std::move(c.script);
}

std::size_t count_apdus(const Script& script) {
  std::size_t n = script.steps.size();
  for (const auto& s : script.steps)
    if (s.want_response) ++n;
  return n;
}

std::size_t count_max_apdus(const Script& script) {
  std::size_t n = count_apdus(script);
  for (const auto& s : script.steps)
    if (!s.if_exists.empty() || !s.if_refused.empty()) ++n;
  return n;
}

std::size_t count_naive_apdus(const CardProfile& p) {
  // Reaching a file from the MF: SELECT and GET RESPONSE for each FID of its path, 3F00 included.
  auto reach = [](const Fids& fids) { return 2 * fids.size(); };
  std::size_t n = 1;  // VERIFY ADM
  auto create_and_write = [&](const ProfileFile& f, std::size_t writes) {
    if (f.create) n += reach(parent_of(f.fids)) + 1;
    if (writes) n += reach(f.fids) + writes;
  };
  if (const ProfileFile* adm = p.find(p.adm.file)) create_and_write(*adm, 1);
  for (const CodeSpec* code : code_specs(p))
    if (const ProfileFile* f = p.find(code->file)) create_and_write(*f, 1);
  n += 1;  // VERIFY CHV1
  for (const auto& f : p.files) {
    if (is_code_file(p, f.path)) continue;
    create_and_write(f, f.value && f.kind == FileKind::Ef ? write_count(f) : 0);
  }
  n += reach(fids_of(p, p.gsm_df)) + 2;  // RUN GSM ALGORITHM and its GET RESPONSE
  return n;
}

Result<void> check_proof(const ScriptResult& result, ByteView ki, ByteView opc, ByteView rand) {
  if (result.outcome != ScriptOutcome::Completed) return fail("proof: the script did not complete");
  if (result.response.size() != 12) return fail("proof: expected SRES || Kc (12 bytes) from the card");
  if (ki.size() != 16 || opc.size() != 16 || rand.size() != 16) return fail("proof: Ki, OPc and RAND must be 16 bytes");
  const auto t = milenage::gsm(ki, opc, rand);
  Bytes expected(t.sres.begin(), t.sres.end());
  expected.insert(expected.end(), t.kc.begin(), t.kc.end());
  if (!crypto::ct_equal(expected, result.response))
    return fail("proof: SRES/Kc from the card differ from the ADS's Milenage; the card does not hold this Ki/OPc");
  return {};
}

}  // namespace cardperso::perso
