// The script (P2) and script result (P3) codecs: round trips, strict decoding with reasons.
#include <gtest/gtest.h>

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
