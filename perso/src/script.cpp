#include "cardperso/perso/script.hpp"

#include <algorithm>

#include "cardperso/card/apdu_builders.hpp"
#include "cardperso/card/file_ids.hpp"

namespace cardperso::perso {

namespace {

constexpr std::uint8_t kScriptMagic[4] = {'C', 'P', 'S', 'C'};
constexpr std::uint8_t kResultMagic[4] = {'C', 'P', 'S', 'R'};
constexpr std::uint8_t kVersion = 1;
// Version 2 adds the step flag b4 ("exists" fallback). A script without a fallback is still
// written as version 1, so an STE that predates the flag runs it unchanged. Version 2 also knows b5
// (the VERIFY ADM alternative code of step 1).
constexpr std::uint8_t kVersionFallback = 2;
constexpr std::size_t kMaxFallbackApdu = 16;

constexpr std::uint8_t kStepSecret = 0x01, kStepPlaceholder = 0x02, kStepWantResponse = 0x04,
                       kStepExistsFallback = 0x08, kStepRefusedFallback = 0x10;
constexpr std::uint8_t kPromptPin = 0x01, kPromptPinConfirm = 0x02, kPromptPuk = 0x04;

bool printable(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c < 0x7F; });
}

Error bad_step(std::size_t i, const std::string& what) {
  return fail("script step " + std::to_string(i) + ": " + what);
}

// Reads a byte string from the front; every length is checked against what is left.
class Reader {
 public:
  explicit Reader(ByteView b) : b_(b) {}
  bool u8(std::uint8_t& v) {
    if (left() < 1) return false;
    v = b_[at_++];
    return true;
  }
  bool u16(std::uint16_t& v) {
    if (left() < 2) return false;
    v = get_u16(b_, at_);
    at_ += 2;
    return true;
  }
  bool bytes(std::size_t n, ByteView& v) {
    if (left() < n) return false;
    v = b_.subspan(at_, n);
    at_ += n;
    return true;
  }
  std::size_t left() const { return b_.size() - at_; }

 private:
  ByteView b_;
  std::size_t at_ = 0;
};

}  // namespace

bool is_adm_verify(ByteView apdu) {
  return apdu.size() >= 4 && apdu[1] == card::ins::kVerifyChv && apdu[3] != card::kRefChv1 && apdu[3] != card::kRefChv2;
}

std::optional<std::uint16_t> created_fid(ByteView apdu) {
  if (apdu.size() < 7 || apdu[1] != card::ins::kCreateFile || apdu.size() != 5u + apdu[4]) return std::nullopt;
  const ByteView data = apdu.subspan(5);
  if (data[0] != 0x62 || data[1] != data.size() - 2) return std::nullopt;
  for (std::size_t at = 2; at + 2 <= data.size();) {
    const std::uint8_t tag = data[at], len = data[at + 1];
    if (at + 2 + len > data.size()) return std::nullopt;
    if (tag == 0x83) return len == 2 ? std::optional<std::uint16_t>(get_u16(data, at + 2)) : std::nullopt;
    at += 2 + std::size_t{len};
  }
  return std::nullopt;
}

bool select_succeeded(std::uint16_t sw) { return card::sw::response_pending(sw) || sw == card::sw::kOk; }

bool step_accepts(const ScriptStep& step, std::uint16_t sw) {
  if (std::any_of(step.expect.begin(), step.expect.end(), [sw](const SwPattern& e) { return e.matches(sw); })) return true;
  if (!step.if_refused.empty() && sw == kSwCodeRefused) return true;  // the alternative code opened the card
  return !step.if_exists.empty() && select_succeeded(sw);
}

bool opened_by_alternative(const ScriptResult& result) {
  const bool past_step_1 = result.outcome == ScriptOutcome::Completed || result.failed_step > 0;
  return past_step_1 && !result.status_words.empty() && result.status_words[0] == kSwCodeRefused;
}

namespace {
bool uses_version_2(const Script& s) {
  return std::any_of(s.steps.begin(), s.steps.end(),
                     [](const ScriptStep& st) { return !st.if_exists.empty() || !st.if_refused.empty(); });
}
}  // namespace

Result<void> validate_script(const Script& s) {
  if (s.steps.empty() || s.steps.size() > kMaxScriptSteps)
    return fail("script: must have 1.." + std::to_string(kMaxScriptSteps) + " steps");
  if (s.prompts.pin_confirm && !s.prompts.pin) return fail("script: PIN confirmation without a PIN prompt");
  std::size_t adm_verifies = 0, responses = 0;
  for (std::size_t i = 0; i < s.steps.size(); ++i) {
    const ScriptStep& st = s.steps[i];
    const ByteView a = st.apdu.view();
    if (a.size() < 5) return bad_step(i, "APDU shorter than 5 bytes");
    if (a.size() != 5 && a.size() != 5u + a[4]) return bad_step(i, "APDU length does not match P3");
    if (st.expect.empty() || st.expect.size() > kMaxExpectations)
      return bad_step(i, "needs 1.." + std::to_string(kMaxExpectations) + " expected status words");
    for (const auto& e : st.expect)
      if ((e.value & ~e.mask) != 0) return bad_step(i, "expected status word has bits outside its mask");
    if (st.label.size() > kMaxLabel || !printable(st.label))
      return bad_step(i, "label must be printable ASCII of at most " + std::to_string(kMaxLabel) + " characters");
    if (is_adm_verify(a)) {
      if (++adm_verifies > 1) return bad_step(i, "a second ADM VERIFY; a script presents an ADM code once");
      if (!st.secret) return bad_step(i, "an ADM VERIFY must be marked secret");
    }
    if (st.want_response && ++responses > 1) return bad_step(i, "only one step may ask for its response");
    if (!st.if_exists.empty()) {
      // Strict: the fallback may only turn "this file exists" into "select that file", never run
      // any other command, so a tampered or buggy script cannot hide a write behind it.
      const auto fid = created_fid(a);
      if (!fid) return bad_step(i, "an 'exists' fallback is only allowed on a CREATE FILE step");
      if (st.if_exists != card::select_apdu(*fid, a[0]))
        return bad_step(i, "the 'exists' fallback must be a SELECT of the FID the step creates");
      if (std::any_of(st.expect.begin(), st.expect.end(), [](const SwPattern& e) { return e.matches(kSwFileExists); }))
        return bad_step(i, "a step with an 'exists' fallback must not expect 6A89");
      if (st.want_response) return bad_step(i, "a step with an 'exists' fallback cannot ask for its response");
    }
    if (!st.if_refused.empty()) {
      // Strict: the alternative may only present another ADM code to the same reference, on step 1,
      // so a script cannot use it to hide any other command.
      const ByteView alt = st.if_refused.view();
      if (i != 0) return bad_step(i, "a VERIFY alternative is only allowed on step 1");
      if (!is_adm_verify(a)) return bad_step(i, "a VERIFY alternative is only allowed on a VERIFY ADM step");
      if (alt.size() != a.size() || !std::equal(a.begin(), a.begin() + 5, alt.begin()))
        return bad_step(i, "the VERIFY alternative must be a VERIFY of the same ADM reference and length");
      if (!st.secret) return bad_step(i, "a step with a VERIFY alternative must be marked secret");
      if (st.placeholder || st.want_response || !st.if_exists.empty())
        return bad_step(i, "a step with a VERIFY alternative can have no placeholder, response or other fallback");
      if (std::any_of(st.expect.begin(), st.expect.end(), [](const SwPattern& e) { return e.matches(kSwCodeRefused); }))
        return bad_step(i, "a step with a VERIFY alternative must not expect 9804");
    }
    if (st.placeholder) {
      const Placeholder& p = *st.placeholder;
      if (p.kind != PlaceholderKind::CustomerPin && p.kind != PlaceholderKind::CustomerPuk)
        return bad_step(i, "unknown placeholder kind");
      if (p.length < 4 || p.length > 16) return bad_step(i, "placeholder length must be 4..16");
      if (std::size_t{p.offset} + p.length > a.size() - 5) return bad_step(i, "placeholder runs past the APDU data");
      if (!st.secret) return bad_step(i, "a step with a placeholder must be marked secret");
      const auto hole = a.subspan(5 + std::size_t{p.offset}, p.length);
      if (!std::all_of(hole.begin(), hole.end(), [&](std::uint8_t b) { return b == p.padding; }))
        return bad_step(i, "placeholder bytes must be padding in the script");
      if (p.kind == PlaceholderKind::CustomerPin && !s.prompts.pin)
        return bad_step(i, "uses the customer PIN but the script does not prompt for it");
      if (p.kind == PlaceholderKind::CustomerPuk && !s.prompts.puk)
        return bad_step(i, "uses the customer PUK but the script does not prompt for it");
    }
  }
  return {};
}

Result<SecretBytes> encode_script(const Script& s) {
  if (auto v = validate_script(s); !v) return v.error();
  Bytes out(kScriptMagic, kScriptMagic + 4);
  out.push_back(uses_version_2(s) ? kVersionFallback : kVersion);
  out.push_back(static_cast<std::uint8_t>((s.prompts.pin ? kPromptPin : 0) |
                                          (s.prompts.pin_confirm ? kPromptPinConfirm : 0) |
                                          (s.prompts.puk ? kPromptPuk : 0)));
  put_u16(out, static_cast<std::uint16_t>(s.steps.size()));
  for (const auto& st : s.steps) {
    out.push_back(static_cast<std::uint8_t>((st.secret ? kStepSecret : 0) | (st.placeholder ? kStepPlaceholder : 0) |
                                            (st.want_response ? kStepWantResponse : 0) |
                                            (st.if_exists.empty() ? 0 : kStepExistsFallback) |
                                            (st.if_refused.empty() ? 0 : kStepRefusedFallback)));
    put_u16(out, static_cast<std::uint16_t>(st.apdu.size()));
    out.insert(out.end(), st.apdu.data(), st.apdu.data() + st.apdu.size());
    out.push_back(static_cast<std::uint8_t>(st.expect.size()));
    for (const auto& e : st.expect) {
      put_u16(out, e.value);
      put_u16(out, e.mask);
    }
    if (st.placeholder) {
      out.push_back(static_cast<std::uint8_t>(st.placeholder->kind));
      out.push_back(st.placeholder->offset);
      out.push_back(st.placeholder->length);
      out.push_back(st.placeholder->padding);
    }
    if (!st.if_exists.empty()) {
      out.push_back(static_cast<std::uint8_t>(st.if_exists.size()));
      out.insert(out.end(), st.if_exists.begin(), st.if_exists.end());
    }
    if (!st.if_refused.empty()) {
      out.push_back(static_cast<std::uint8_t>(st.if_refused.size()));
      out.insert(out.end(), st.if_refused.data(), st.if_refused.data() + st.if_refused.size());
    }
    out.push_back(static_cast<std::uint8_t>(st.label.size()));
    out.insert(out.end(), st.label.begin(), st.label.end());
  }
  SecretBytes secret{ByteView(out)};
  secure_wipe(out.data(), out.size());
  if (secret.size() > kMaxScriptBytes)
    return fail("script: " + std::to_string(secret.size()) + " bytes encoded, over the " +
                std::to_string(kMaxScriptBytes) + "-byte limit; split the profile");
  return secret;
}

Result<Script> decode_script(ByteView bytes) {
  if (bytes.size() > kMaxScriptBytes) return fail("script: larger than " + std::to_string(kMaxScriptBytes) + " bytes");
  Reader r(bytes);
  ByteView magic;
  std::uint8_t version = 0, prompts = 0;
  std::uint16_t count = 0;
  if (!r.bytes(4, magic) || !std::equal(magic.begin(), magic.end(), kScriptMagic)) return fail("script: bad magic");
  if (!r.u8(version) || (version != kVersion && version != kVersionFallback)) return fail("script: unsupported version");
  if (!r.u8(prompts) || (prompts & ~(kPromptPin | kPromptPinConfirm | kPromptPuk)))
    return fail("script: truncated or unknown prompt flags");
  if (!r.u16(count) || count == 0 || count > kMaxScriptSteps) return fail("script: step count missing or out of range");
  Script s;
  s.prompts = {(prompts & kPromptPin) != 0, (prompts & kPromptPinConfirm) != 0, (prompts & kPromptPuk) != 0};
  for (std::size_t i = 0; i < count; ++i) {
    ScriptStep st;
    std::uint8_t flags = 0, n_expect = 0, label_len = 0;
    std::uint16_t apdu_len = 0;
    ByteView apdu, label;
    if (!r.u8(flags)) return bad_step(i, "truncated");
    const std::uint8_t known = kStepSecret | kStepPlaceholder | kStepWantResponse |
                               (version >= kVersionFallback ? kStepExistsFallback | kStepRefusedFallback : 0);
    if (flags & ~known) return bad_step(i, "unknown flags");
    if (!r.u16(apdu_len) || apdu_len < 5 || apdu_len > 261) return bad_step(i, "APDU length missing or out of 5..261");
    if (!r.bytes(apdu_len, apdu)) return bad_step(i, "truncated APDU");
    st.apdu = SecretBytes(apdu);
    if (!r.u8(n_expect) || n_expect == 0 || n_expect > kMaxExpectations)
      return bad_step(i, "expected status word count missing or out of range");
    for (std::size_t k = 0; k < n_expect; ++k) {
      SwPattern p;
      if (!r.u16(p.value) || !r.u16(p.mask)) return bad_step(i, "truncated status words");
      st.expect.push_back(p);
    }
    if (flags & kStepPlaceholder) {
      Placeholder p;
      std::uint8_t kind = 0;
      if (!r.u8(kind) || !r.u8(p.offset) || !r.u8(p.length) || !r.u8(p.padding)) return bad_step(i, "truncated placeholder");
      p.kind = static_cast<PlaceholderKind>(kind);
      st.placeholder = p;
    }
    if (flags & kStepExistsFallback) {
      std::uint8_t len = 0;
      ByteView fallback;
      if (!r.u8(len) || len < 5 || len > kMaxFallbackApdu || !r.bytes(len, fallback))
        return bad_step(i, "'exists' fallback missing, truncated or not 5.." + std::to_string(kMaxFallbackApdu) + " bytes");
      st.if_exists.assign(fallback.begin(), fallback.end());
    }
    if (flags & kStepRefusedFallback) {
      std::uint8_t len = 0;
      ByteView alt;
      if (!r.u8(len) || len < 5 || !r.bytes(len, alt)) return bad_step(i, "VERIFY alternative missing or truncated");
      st.if_refused = SecretBytes(alt);
    }
    if (!r.u8(label_len) || !r.bytes(label_len, label)) return bad_step(i, "truncated label");
    st.label.assign(label.begin(), label.end());
    st.secret = (flags & kStepSecret) != 0;
    st.want_response = (flags & kStepWantResponse) != 0;
    s.steps.push_back(std::move(st));
  }
  if (r.left() != 0) return fail("script: " + std::to_string(r.left()) + " bytes after the last step");
  // One encoding per script: version 2 only when a step needs it (encode_script's choice).
  if (version == kVersionFallback && !uses_version_2(s))
    return fail("script: version 2 without a fallback; such a script is version 1");
  if (auto v = validate_script(s); !v) return v.error();
  return s;
}

std::string_view name(ScriptOutcome o) {
  switch (o) {
    case ScriptOutcome::Completed: return "completed";
    case ScriptOutcome::UnexpectedStatus: return "unexpected status word";
    case ScriptOutcome::TransmitFailed: return "card or reader failed";
    case ScriptOutcome::Refused: return "refused";
  }
  return "?";
}

Bytes encode_script_result(const ScriptResult& res) {
  // Bounded by construction: the executor never produces more; clamp defensively all the same.
  Bytes out(kResultMagic, kResultMagic + 4);
  out.push_back(kVersion);
  out.push_back(static_cast<std::uint8_t>(res.outcome));
  put_u16(out, res.failed_step);
  const std::size_t n = std::min(res.status_words.size(), kMaxScriptSteps);
  put_u16(out, static_cast<std::uint16_t>(n));
  for (std::size_t i = 0; i < n; ++i) put_u16(out, res.status_words[i]);
  const std::size_t rlen = std::min(res.response.size(), kMaxStepResponse);
  out.push_back(static_cast<std::uint8_t>(rlen));
  out.insert(out.end(), res.response.begin(), res.response.begin() + static_cast<std::ptrdiff_t>(rlen));
  std::string reason = res.reason.substr(0, kMaxResultReason);
  for (char& c : reason)
    if (c < 0x20 || c >= 0x7F) c = '?';
  out.push_back(static_cast<std::uint8_t>(reason.size()));
  out.insert(out.end(), reason.begin(), reason.end());
  return out;
}

Result<ScriptResult> decode_script_result(ByteView bytes) {
  Reader r(bytes);
  ByteView magic, response, reason;
  std::uint8_t version = 0, outcome = 0, rlen = 0, reason_len = 0;
  std::uint16_t n = 0;
  ScriptResult res;
  if (!r.bytes(4, magic) || !std::equal(magic.begin(), magic.end(), kResultMagic)) return fail("script result: bad magic");
  if (!r.u8(version) || version != kVersion) return fail("script result: unsupported version");
  if (!r.u8(outcome) || outcome > static_cast<std::uint8_t>(ScriptOutcome::Refused))
    return fail("script result: unknown outcome");
  res.outcome = static_cast<ScriptOutcome>(outcome);
  if (!r.u16(res.failed_step) || !r.u16(n) || n > kMaxScriptSteps) return fail("script result: bad step counts");
  for (std::size_t i = 0; i < n; ++i) {
    std::uint16_t sw = 0;
    if (!r.u16(sw)) return fail("script result: truncated status words");
    res.status_words.push_back(sw);
  }
  if (!r.u8(rlen) || rlen > kMaxStepResponse || !r.bytes(rlen, response)) return fail("script result: bad response");
  res.response.assign(response.begin(), response.end());
  if (!r.u8(reason_len) || reason_len > kMaxResultReason || !r.bytes(reason_len, reason))
    return fail("script result: bad reason");
  res.reason.assign(reason.begin(), reason.end());
  if (!printable(res.reason)) return fail("script result: reason is not printable ASCII");
  if (r.left() != 0) return fail("script result: trailing bytes");
  if (res.outcome == ScriptOutcome::Completed && (res.failed_step != n || !res.reason.empty()))
    return fail("script result: a completed run has one status word per step and no reason");
  if (res.outcome != ScriptOutcome::Completed && res.reason.empty())
    return fail("script result: a failed run must say why");
  return res;
}

}  // namespace cardperso::perso
