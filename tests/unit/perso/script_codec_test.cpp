// The script (P2) and script result (P3) codecs: round trips, strict decoding with reasons.
#include <gtest/gtest.h>

#include <algorithm>

#include "cardperso/perso/script.hpp"

using namespace cardperso;
using namespace cardperso::perso;

namespace {

ScriptStep make_step(std::string_view apdu_hex, std::vector<SwPattern> expect, std::string label, bool secret = false) {
  ScriptStep s;
  const Bytes apdu = hex(apdu_hex);
  s.apdu = SecretBytes(ByteView(apdu));
  s.expect = std::move(expect);
  s.label = std::move(label);
  s.secret = secret;
  return s;
}

Script sample() {
  Script s;
  s.prompts = {true, true, true};
  s.steps.push_back(make_step("A02000 0A 08 0102030405060708", {kSwOk}, "verify ADM1", true));
  s.steps.push_back(make_step("A0A4080002 000A", {kSw9fAny}, "select 3F00/000A"));
  auto pin = make_step("A0D6000008 FFFFFFFFFFFFFFFF", {kSwOk}, "update 3F00/0000 (CHV1)", true);
  pin.placeholder = Placeholder{PlaceholderKind::CustomerPin, 0, 8, 0xFF};
  s.steps.push_back(std::move(pin));
  auto run = make_step("A088000010 23553cbe9637a89d218ae64dae47bf35", {SwPattern{0x9F0C, 0xFFFF}}, "run GSM");
  run.want_response = true;
  s.steps.push_back(std::move(run));
  return s;
}

Bytes encoded(const Script& s) {
  auto e = encode_script(s);
  EXPECT_TRUE(e) << e.error().message;
  return e ? Bytes(e->view().begin(), e->view().end()) : Bytes{};
}

}  // namespace

TEST(ScriptCodec, RoundTrip) {
  const Script s = sample();
  const Bytes b = encoded(s);
  auto d = decode_script(b);
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->prompts, s.prompts);
  ASSERT_EQ(d->steps.size(), s.steps.size());
  for (std::size_t i = 0; i < s.steps.size(); ++i) {
    EXPECT_EQ(to_hex(d->steps[i].apdu.view()), to_hex(s.steps[i].apdu.view()));
    EXPECT_EQ(d->steps[i].expect, s.steps[i].expect);
    EXPECT_EQ(d->steps[i].placeholder, s.steps[i].placeholder);
    EXPECT_EQ(d->steps[i].secret, s.steps[i].secret);
    EXPECT_EQ(d->steps[i].want_response, s.steps[i].want_response);
    EXPECT_EQ(d->steps[i].label, s.steps[i].label);
  }
  EXPECT_TRUE(kSw9fAny.matches(0x9F17));
  EXPECT_FALSE(kSw9fAny.matches(0x9404));
}

TEST(ScriptCodec, StrictDecode) {
  const Bytes b = encoded(sample());
  // Every truncation is refused.
  for (std::size_t n = 0; n < b.size(); ++n) EXPECT_FALSE(decode_script(ByteView(b).first(n))) << n;
  Bytes trailing = b;
  trailing.push_back(0);
  EXPECT_EQ(decode_script(trailing).error().message, "script: 1 bytes after the last step");
  Bytes magic = b;
  magic[0] = 'X';
  EXPECT_EQ(decode_script(magic).error().message, "script: bad magic");
  Bytes flags = b;
  flags[8] |= 0x80;  // first step's flags
  EXPECT_EQ(decode_script(flags).error().message, "script step 0: unknown flags");
  Bytes p3 = b;
  p3[8 + 1 + 2 + 4] = 0x07;  // first APDU's P3 no longer matches its data
  EXPECT_EQ(decode_script(p3).error().message, "script step 0: APDU length does not match P3");
  Bytes big(kMaxScriptBytes + 1, 0);
  EXPECT_FALSE(decode_script(big));
}

TEST(ScriptCodec, ExistsFallbackRoundTripsAsVersion2AndIsCheckedStrictly) {
  // Without a fallback a script is still written as version 1.
  EXPECT_EQ(encoded(sample())[4], 1);
  Script s = sample();
  auto create = make_step("A0E000000A 6208 82027821 83027F10", {kSwOk}, "create 3F00/7F10");
  ASSERT_EQ(created_fid(create.apdu.view()), std::optional<std::uint16_t>(0x7F10));
  create.if_exists = hex("A0A40000027F10");
  s.steps.insert(s.steps.begin() + 1, std::move(create));
  const Bytes b = encoded(s);
  EXPECT_EQ(b[4], 2);
  auto d = decode_script(b);
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->steps[1].if_exists, hex("A0A40000027F10"));
  EXPECT_TRUE(d->steps[0].if_exists.empty());
  for (std::size_t n = 0; n < b.size(); ++n) EXPECT_FALSE(decode_script(ByteView(b).first(n))) << n;

  // Version 1 does not know the flag.
  Bytes v1 = b;
  v1[4] = 1;
  EXPECT_EQ(decode_script(v1).error().message, "script step 1: unknown flags");
  Bytes v3 = b;
  v3[4] = 3;
  EXPECT_EQ(decode_script(v3).error().message, "script: unsupported version");
  // One encoding per script: a version-2 script with no fallback is refused.
  Bytes v2 = encoded(sample());
  v2[4] = 2;
  EXPECT_EQ(decode_script(v2).error().message, "script: version 2 without a fallback; such a script is version 1");

  // The status words a step may end with: its own, or for a fallback step the SELECT's success.
  EXPECT_TRUE(step_accepts(d->steps[1], 0x9000));
  EXPECT_TRUE(step_accepts(d->steps[1], 0x9F17));
  EXPECT_FALSE(step_accepts(d->steps[1], 0x6A89));
  EXPECT_FALSE(step_accepts(d->steps[1], 0x6A82));
  EXPECT_TRUE(step_accepts(d->steps[2], 0x9F17));   // SELECT 000A expects 9Fxx
  EXPECT_FALSE(step_accepts(d->steps[3], 0x9F17));  // an UPDATE without a fallback does not

  // Only a CREATE FILE may carry one, and only a SELECT of the very FID it creates.
  Script on_update = sample();
  on_update.steps[2].if_exists = hex("A0A40000020000");
  EXPECT_EQ(validate_script(on_update).error().message,
            "script step 2: an 'exists' fallback is only allowed on a CREATE FILE step");
  Script other_fid = s;
  other_fid.steps[1].if_exists = hex("A0A40000027F20");
  EXPECT_EQ(validate_script(other_fid).error().message,
            "script step 1: the 'exists' fallback must be a SELECT of the FID the step creates");
  Script not_select = s;
  not_select.steps[1].if_exists = hex("A0D60000027F10");  // an UPDATE BINARY hidden behind 6A89
  EXPECT_EQ(validate_script(not_select).error().message,
            "script step 1: the 'exists' fallback must be a SELECT of the FID the step creates");
  Script by_path = s;
  by_path.steps[1].if_exists = hex("A0A40800027F10");
  EXPECT_FALSE(validate_script(by_path));
  Script expects_exists = s;
  expects_exists.steps[1].expect.push_back(SwPattern{0x6A89, 0xFFFF});
  EXPECT_EQ(validate_script(expects_exists).error().message,
            "script step 1: a step with an 'exists' fallback must not expect 6A89");
  // A fallback length out of range on the wire.
  Bytes long_fallback = b;
  const Bytes marker = hex("07A0A40000027F10");
  auto at = std::search(long_fallback.begin(), long_fallback.end(), marker.begin(), marker.end());
  ASSERT_NE(at, long_fallback.end());
  *at = 0x20;
  EXPECT_EQ(decode_script(long_fallback).error().message,
            "script step 1: 'exists' fallback missing, truncated or not 5..16 bytes");
}

TEST(ScriptCodec, VerifyAlternativeRoundTripsOnStep1OnlyAndIsCheckedStrictly) {
  Script s = sample();
  const Bytes alt = hex("A020000A08 1112131415161718");
  s.steps[0].if_refused = SecretBytes(ByteView(alt));
  const Bytes b = encoded(s);
  EXPECT_EQ(b[4], 2);  // a version-2 flag
  auto d = decode_script(b);
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_TRUE(d->steps[0].if_refused.view().size() == alt.size() &&
              std::equal(alt.begin(), alt.end(), d->steps[0].if_refused.view().begin()));
  EXPECT_TRUE(d->steps[1].if_refused.empty());
  for (std::size_t n = 0; n < b.size(); ++n) EXPECT_FALSE(decode_script(ByteView(b).first(n))) << n;
  Bytes v1 = b;
  v1[4] = 1;
  EXPECT_EQ(decode_script(v1).error().message, "script step 0: unknown flags");
  // 9804 on step 1 means "the alternative opened the card"; on other steps nothing changes.
  EXPECT_TRUE(step_accepts(d->steps[0], kSwCodeRefused));
  EXPECT_FALSE(step_accepts(sample().steps[0], kSwCodeRefused));
  ScriptResult went_on{ScriptOutcome::Completed, 4, {kSwCodeRefused, 0x9F17, 0x9000, 0x9F0C}, "", {}};
  EXPECT_TRUE(opened_by_alternative(went_on));
  ScriptResult stopped{ScriptOutcome::UnexpectedStatus, 0, {kSwCodeRefused}, "both refused", {}};
  EXPECT_FALSE(opened_by_alternative(stopped));

  auto refusal = [](Script bad) { return validate_script(bad).error().message; };
  Script not_step_1 = sample();
  not_step_1.steps.insert(not_step_1.steps.begin(), make_step("A0A4000002 3F00", {kSw9fAny}, "select MF"));
  not_step_1.steps[1].if_refused = SecretBytes(ByteView(alt));
  EXPECT_EQ(refusal(not_step_1), "script step 1: a VERIFY alternative is only allowed on step 1");
  Script on_select = sample();
  on_select.steps[0] = make_step("A0A4000002 3F00", {kSw9fAny}, "select MF", true);
  on_select.steps[0].if_refused = SecretBytes(ByteView(alt));
  EXPECT_EQ(refusal(on_select), "script step 0: a VERIFY alternative is only allowed on a VERIFY ADM step");
  Script other_p2 = s;
  other_p2.steps[0].if_refused = SecretBytes(ByteView(hex("A020000B08 1112131415161718")));
  EXPECT_EQ(refusal(other_p2), "script step 0: the VERIFY alternative must be a VERIFY of the same ADM reference and length");
  Script not_verify = s;
  not_verify.steps[0].if_refused = SecretBytes(ByteView(hex("A0D6000008 1112131415161718")));  // a write behind 9804
  EXPECT_EQ(refusal(not_verify), "script step 0: the VERIFY alternative must be a VERIFY of the same ADM reference and length");
  Script not_secret = s;
  not_secret.steps[0].secret = false;
  EXPECT_EQ(refusal(not_secret), "script step 0: an ADM VERIFY must be marked secret");
  Script expects_9804 = s;
  expects_9804.steps[0].expect.push_back(SwPattern{kSwCodeRefused, 0xFFFF});
  EXPECT_EQ(refusal(expects_9804), "script step 0: a step with a VERIFY alternative must not expect 9804");
  // On the wire: a length that runs past the end is refused.
  Bytes truncated = b;
  const Bytes marker = hex("0DA020000A08");
  auto at = std::search(truncated.begin(), truncated.end(), marker.begin(), marker.end());
  ASSERT_NE(at, truncated.end());
  *at = 0xF0;
  EXPECT_FALSE(decode_script(truncated).ok());
}

TEST(ScriptCodec, CreatedFidReadsTag83Only) {
  EXPECT_EQ(created_fid(hex("A0E000000D 620B 82024121 83026F07 8A0105")), std::optional<std::uint16_t>(0x6F07));
  EXPECT_EQ(created_fid(hex("A0E000000E 620B 82024121 83026F07 8A0105")), std::nullopt);  // P3 lies
  EXPECT_EQ(created_fid(hex("A0E000000D 620C 82024121 83026F07 8A0105")), std::nullopt);  // FCP length lies
  EXPECT_EQ(created_fid(hex("A0E0000009 6207 82024121 8A0105")), std::nullopt);           // no tag 83
  EXPECT_EQ(created_fid(hex("A0D600000D 620B 82024121 83026F07 8A0105")), std::nullopt);  // not CREATE FILE
  EXPECT_EQ(created_fid(hex("A0E0000008 6206 82024121 8304")), std::nullopt);             // runs past the FCP
  EXPECT_EQ(created_fid(hex("A0E000000B 6209 82024121 83036F0701")), std::nullopt);       // FID not 2 bytes
}

TEST(ScriptCodec, ValidationRules) {
  Script two_adm = sample();
  two_adm.steps.insert(two_adm.steps.begin() + 1, make_step("A02000 0A 08 0102030405060708", {kSwOk}, "again", true));
  EXPECT_EQ(validate_script(two_adm).error().message,
            "script step 1: a second ADM VERIFY; a script presents an ADM code once");

  Script open_adm = sample();
  open_adm.steps[0].secret = false;
  EXPECT_EQ(validate_script(open_adm).error().message, "script step 0: an ADM VERIFY must be marked secret");

  Script filled = sample();
  filled.steps[2] = make_step("A0D6000008 31323334FFFFFFFF", {kSwOk}, "update CHV1", true);
  filled.steps[2].placeholder = Placeholder{PlaceholderKind::CustomerPin, 0, 8, 0xFF};
  EXPECT_EQ(validate_script(filled).error().message, "script step 2: placeholder bytes must be padding in the script");

  Script outside = sample();
  outside.steps[2].placeholder->offset = 1;
  EXPECT_EQ(validate_script(outside).error().message, "script step 2: placeholder runs past the APDU data");

  Script no_prompt = sample();
  no_prompt.prompts.pin = no_prompt.prompts.pin_confirm = false;
  EXPECT_EQ(validate_script(no_prompt).error().message,
            "script step 2: uses the customer PIN but the script does not prompt for it");

  Script bad_mask = sample();
  bad_mask.steps[1].expect = {SwPattern{0x9F17, 0xFF00}};
  EXPECT_FALSE(validate_script(bad_mask));

  EXPECT_FALSE(encode_script(Script{}));
  EXPECT_TRUE(is_adm_verify(hex("A020000A08")));
  EXPECT_FALSE(is_adm_verify(hex("A020000108")));
}

TEST(ScriptResultCodec, RoundTripAndRefusals) {
  ScriptResult ok;
  ok.outcome = ScriptOutcome::Completed;
  ok.status_words = {0x9000, 0x9F0F, 0x9F0C};
  ok.failed_step = 3;
  ok.response = hex("46f8416aeae4be823af9a08b");
  auto d = decode_script_result(encode_script_result(ok));
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(*d, ok);

  ScriptResult bad;
  bad.outcome = ScriptOutcome::UnexpectedStatus;
  bad.status_words = {0x9804};
  bad.failed_step = 0;
  bad.reason = "step 1 (verify ADM1): status word 9804, expected 9000";
  EXPECT_EQ(*decode_script_result(encode_script_result(bad)), bad);

  Bytes e = encode_script_result(ok);
  for (std::size_t n = 0; n < e.size(); ++n) EXPECT_FALSE(decode_script_result(ByteView(e).first(n))) << n;
  e.push_back(0);
  EXPECT_EQ(decode_script_result(e).error().message, "script result: trailing bytes");
  Bytes lying = encode_script_result(ok);
  lying[7] = 2;  // failed_step 2 in a "completed" result with 3 status words
  EXPECT_FALSE(decode_script_result(lying));
}
