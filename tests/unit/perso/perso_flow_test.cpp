// Whole personalisation runs: the ADS builds the script from the shipped profile, it travels through
// the script codec, the STE executor runs it on an in-memory blank virtual card, and the card is
// read back with plain APDUs.
#include <gtest/gtest.h>

#include "cardperso/card/apdu_builders.hpp"
#include "cardperso/cardsim/card_builders.hpp"
#include "cardperso/cardsim/sim_card.hpp"
#include "cardperso/common/milenage.hpp"
#include "cardperso/perso/card_profile.hpp"
#include "cardperso/perso/script_builder.hpp"
#include "cardperso/perso/script_executor.hpp"
#include "cardperso/testing/card_response.hpp"
#include "cardperso/testing/perso_test_set.hpp"

using namespace cardperso;
using namespace cardperso::perso;

namespace {

using namespace cardperso::testing::perso_set;

using cardperso::testing::data_of;
using cardperso::testing::sw_of;

struct PersoFlow : ::testing::Test {
  CardProfile profile;
  SecretBytes master;
  cardsim::SimCard card{cardsim::make_blank_sim(kIccid, hex("0000000000000000"))};
  std::vector<Bytes> sent;  // what reached the card (test inspection only)
  std::optional<std::size_t> pull_at;  // the card disappears before this APDU index

  void SetUp() override {
    auto p = load_default_card_profile();
    ASSERT_TRUE(p) << p.error().message;
    profile = *p;
    master = blank_master_code(kIccid);
    card = cardsim::SimCard(cardsim::make_blank_sim(kIccid, master.view()));
    card.power_on();
  }

  TransmitFn transmit() {
    return [this](ByteView apdu) -> Result<Bytes> {
      if (pull_at && sent.size() == *pull_at) return fail("card removed from the reader");
      sent.emplace_back(apdu.begin(), apdu.end());
      return card.transmit(apdu);
    };
  }

  PersoValues values() const { return card_values(kIccid, master); }

  static KeypadEntries customer() { return {ascii_secret("1234"), ascii_secret("1234"), ascii_secret("12345678")}; }

  // The script as the STE receives it: encoded by the ADS, decoded on the STE.
  static Script over_the_wire(const Script& s) {
    auto e = encode_script(s);
    EXPECT_TRUE(e) << e.error().message;
    auto d = decode_script(e->view());
    EXPECT_TRUE(d) << d.error().message;
    return std::move(*d);
  }

  ScriptResult personalise() {
    auto script = build_personalisation_script(profile, values());
    EXPECT_TRUE(script) << script.error().message;
    return execute_script(over_the_wire(*script), customer(), transmit());
  }

  Bytes tx(std::string_view h) { return card.transmit(hex(h)); }
  Bytes read_binary(std::string_view path_hex, std::size_t len) {
    EXPECT_EQ(sw_of(tx("A0A40800" + std::string(path_hex))) >> 8, 0x9F);
    Bytes len_byte{static_cast<std::uint8_t>(len)};
    Bytes r = tx("A0B00000" + to_hex(len_byte));
    EXPECT_EQ(sw_of(r), 0x9000) << path_hex;
    return data_of(r);
  }
};

}  // namespace

TEST_F(PersoFlow, PersonalisesABlankCardEndToEnd) {
  auto script = build_personalisation_script(profile, values());
  ASSERT_TRUE(script) << script.error().message;
  EXPECT_TRUE(script->prompts.pin && script->prompts.pin_confirm && script->prompts.puk);

  auto result = execute_script(over_the_wire(*script), customer(), transmit());
  ASSERT_EQ(result.outcome, ScriptOutcome::Completed) << result.reason;
  EXPECT_EQ(result.failed_step, script->steps.size());
  EXPECT_EQ(result.status_words.size(), script->steps.size());
  EXPECT_EQ(sent.size(), count_apdus(*script));
  // The result travels back (P3) and the ADS checks the proof against its own Milenage.
  auto back = decode_script_result(encode_script_result(result));
  ASSERT_TRUE(back) << back.error().message;
  const auto t = milenage::gsm(hex(kKi), hex(kOpc), hex(kRand));
  EXPECT_EQ(to_hex(back->response), to_hex(t.sres) + to_hex(t.kc));
  EXPECT_EQ(to_hex(back->response), "46f8416aeae4be823af9a08b");
  EXPECT_TRUE(check_proof(*back, hex(kKi), hex(kOpc), hex(kRand)));
  EXPECT_FALSE(check_proof(*back, hex(kOpc), hex(kOpc), hex(kRand)));

  // Read back from a fresh power-on with the customer PIN.
  card.power_off();
  card.power_on();
  EXPECT_EQ(sw_of(tx("A0A40800 04 7F206F07")), 0x9F0F);
  EXPECT_EQ(sw_of(tx("A0B0000009")), 0x9804);  // IMSI needs CHV1
  EXPECT_EQ(sw_of(tx("A020000108 31323334FFFFFFFF")), 0x9000);
  EXPECT_EQ(*decode_imsi(read_binary("047F206F07", 9)), "001010000123456");
  EXPECT_EQ(decode_spn(read_binary("047F206F46", 17))->name, "GSM-R CH");
  EXPECT_EQ(*decode_plmnsel(read_binary("047F206F30", 24)), *values().plmns);
  EXPECT_EQ(decode_sst(read_binary("047F206F38", 5)), (std::vector<int>{1, 2, 4, 7, 9, 12, 17}));
  EXPECT_EQ(to_hex(read_binary("047F206F78", 2)), "0040");  // IMSI ends in 6
  EXPECT_EQ(to_hex(read_binary("047F206FAD", 4)), "00000002");
  EXPECT_EQ(to_hex(read_binary("047F206FAE", 1)), "03");
  EXPECT_EQ(*decode_iccid(read_binary("022FE2", 10)), kIccid);
  EXPECT_EQ(sw_of(tx("A0A40800 04 7F106F40")), 0x9F0F);
  Bytes rec = tx("A0B2010422");
  ASSERT_EQ(sw_of(rec), 0x9000);
  EXPECT_EQ(decode_msisdn_record(data_of(rec))->number, "+41791234567");
  // Ki and OPc: no one reads them.
  for (const char* path : {"047F20FF02", "047F20FF01"}) {
    EXPECT_EQ(sw_of(tx(std::string("A0A40800") + path)), 0x9F0F);
    EXPECT_EQ(sw_of(tx("A0B0000010")), 0x9804) << path;
  }
  // RUN GSM ALGORITHM on another RAND matches Milenage.
  EXPECT_EQ(sw_of(tx("A0A40800 02 7F20")), 0x9F17);
  const char* rand2 = "000102030405060708090a0b0c0d0e0f";
  EXPECT_EQ(sw_of(tx(std::string("A088000010") + rand2)), 0x9F0C);
  const auto t2 = milenage::gsm(hex(kKi), hex(kOpc), hex(rand2));
  EXPECT_EQ(to_hex(data_of(tx("A0C000000C"))), to_hex(t2.sres) + to_hex(t2.kc));
  // The PUK unblocks CHV1.
  EXPECT_EQ(sw_of(tx("A02C000010 3132333435363738 35353535FFFFFFFF")), 0x9000);

  // The master code no longer opens the card; the issuer code does.
  EXPECT_EQ(sw_of(card.transmit(concat({hex("A020000A08"), master.view()}))), 0x9804);
  EXPECT_EQ(sw_of(tx(std::string("A020000A08") + kIssuerCode)), 0x9000);
}

TEST_F(PersoFlow, ScriptUsesFewerThanSevenTenthsOfTheNaiveApdus) {
  auto script = build_personalisation_script(profile, values());
  ASSERT_TRUE(script);
  const std::size_t ours = count_apdus(*script);
  const std::size_t naive = count_naive_apdus(profile);
  std::cout << "APDUs: script " << ours << ", naive " << naive << ", ratio " << double(ours) / double(naive) << "\n";
  EXPECT_LE(double(ours), 0.7 * double(naive));
  EXPECT_EQ(ours, 44u);  // 43 steps + the proof's GET RESPONSE
  EXPECT_EQ(naive, 210u);
  // No GET RESPONSE except the proof's, one ADM VERIFY, every SELECT expects "9F any".
  std::size_t adm = 0;
  for (const auto& s : script->steps) {
    const ByteView a = s.apdu.view();
    EXPECT_NE(a[1], 0xC0);
    if (is_adm_verify(a)) ++adm;
    if (a[1] == 0xA4) {
      EXPECT_EQ(s.expect, std::vector<SwPattern>{kSw9fAny});
    }
  }
  EXPECT_EQ(adm, 1u);
}

TEST_F(PersoFlow, SecretsAreMarkedAndThePinNeverInTheScript) {
  auto script = build_personalisation_script(profile, values());
  ASSERT_TRUE(script);
  const std::string ki = kKi, opc = kOpc, issuer = kIssuerCode, master_hex = to_hex(master.view());
  std::size_t placeholders = 0;
  for (const auto& s : script->steps) {
    const std::string a = to_hex(s.apdu.view());
    const bool carries = a.find(ki) != std::string::npos || a.find(opc) != std::string::npos ||
                         a.find(issuer) != std::string::npos || a.find(master_hex) != std::string::npos;
    if (carries || s.placeholder || a.substr(2, 2) == "20") {
      EXPECT_TRUE(s.secret) << s.label;
    }
    if (s.placeholder) ++placeholders;
    EXPECT_EQ(s.label.find(ki), std::string::npos);
  }
  EXPECT_EQ(placeholders, 3u);  // CHV1 file, UNBLOCK1 file, VERIFY CHV1
  auto enc = encode_script(*script);
  ASSERT_TRUE(enc);
  EXPECT_EQ(to_hex(enc->view()).find("31323334"), std::string::npos);
}

TEST_F(PersoFlow, WrongMasterCodeStopsAtStepOneAndSendsNothingElse) {
  PersoValues v = values();
  v.opening_code = secret_hex("0102030405060708");
  auto script = build_personalisation_script(profile, v);
  ASSERT_TRUE(script);
  auto result = execute_script(over_the_wire(*script), customer(), transmit());
  EXPECT_EQ(result.outcome, ScriptOutcome::UnexpectedStatus);
  EXPECT_EQ(result.failed_step, 0);
  EXPECT_EQ(result.status_words, std::vector<std::uint16_t>{0x9804});
  EXPECT_EQ(result.reason, "step 1 (verify ADM1 (manufacturer master code)): status word 9804, expected 9000");
  EXPECT_EQ(sent.size(), 1u);
  // One try was spent, not three: the right master code still opens the card.
  EXPECT_EQ(sw_of(card.transmit(concat({hex("A020000A08"), master.view()}))), 0x9000);
}

TEST_F(PersoFlow, RefusesBeforeSendingWhenThePinsDiffer) {
  auto script = build_personalisation_script(profile, values());
  ASSERT_TRUE(script);
  auto result = execute_script(*script, {ascii_secret("1234"), ascii_secret("1243"), ascii_secret("12345678")}, transmit());
  EXPECT_EQ(result.outcome, ScriptOutcome::Refused);
  EXPECT_EQ(result.reason, "the two PINs typed differ; type them again");
  auto short_puk = execute_script(*script, {ascii_secret("1234"), ascii_secret("1234"), ascii_secret("1234")}, transmit());
  EXPECT_EQ(short_puk.outcome, ScriptOutcome::Refused);
  EXPECT_TRUE(sent.empty());
}

// A script whose PIN place is shorter than the PIN typed is refused before the first APDU, not at
// the step that holds the place (found by the script fuzzer: the card was left half-written).
TEST_F(PersoFlow, RefusesBeforeSendingWhenACodeDoesNotFitItsPlace) {
  auto built = build_personalisation_script(profile, values());
  ASSERT_TRUE(built);
  Script script = over_the_wire(*built);
  std::size_t pin_step = script.steps.size();
  for (std::size_t i = 0; i < script.steps.size(); ++i) {
    if (script.steps[i].placeholder && script.steps[i].placeholder->kind == PlaceholderKind::CustomerPin) {
      pin_step = i;
      break;
    }
  }
  ASSERT_LT(pin_step, script.steps.size());
  ASSERT_GT(pin_step, 0u) << "the PIN step must not be the first, or the test proves nothing";
  script.steps[pin_step].placeholder->length = 4;
  ASSERT_TRUE(validate_script(script).ok());
  const KeypadEntries eight{ascii_secret("12345678"), ascii_secret("12345678"), ascii_secret("12345678")};
  auto result = execute_script(script, eight, transmit());
  EXPECT_EQ(result.outcome, ScriptOutcome::Refused);
  EXPECT_NE(result.reason.find("longer than its place"), std::string::npos) << result.reason;
  EXPECT_TRUE(result.status_words.empty());
  EXPECT_TRUE(sent.empty());
}

TEST_F(PersoFlow, CardPulledMidScriptReportsTheStep) {
  auto script = build_personalisation_script(profile, values());
  ASSERT_TRUE(script);
  pull_at = 17;
  auto result = execute_script(*script, customer(), transmit());
  EXPECT_EQ(result.outcome, ScriptOutcome::TransmitFailed);
  EXPECT_EQ(result.failed_step, 17);
  EXPECT_EQ(result.status_words.size(), 17u);
  EXPECT_EQ(result.reason, "step 18 (" + script->steps[17].label + "): card removed from the reader");
  EXPECT_EQ(sent.size(), 17u);
}

// A retry of a half-written card: every CREATE FILE the first run did answers 6A89 and is replaced
// by a SELECT of that FID, so the values are rewritten into the right files. A fresh card pays
// nothing for it: the fallback APDU goes out only when the file exists.
TEST_F(PersoFlow, RetryOfAHalfWrittenCardSelectsTheFilesThatExistAndCompletes) {
  auto script = build_personalisation_script(profile, values());
  ASSERT_TRUE(script);
  std::size_t creates = 0;
  for (const auto& st : script->steps) {
    if (st.apdu[1] != 0xE0) continue;
    ++creates;
    const auto fid = created_fid(st.apdu.view());
    ASSERT_TRUE(fid) << st.label;
    EXPECT_EQ(st.if_exists, card::select_apdu(*fid, 0xA0)) << st.label;
  }
  EXPECT_EQ(creates, 21u);  // 4 code files, 2 DFs, 15 EFs
  pull_at = 30;             // among DF_GSM's EFs: CREATE at 28, UPDATE at 29, the card gone before step 30
  ASSERT_EQ(execute_script(over_the_wire(*script), customer(), transmit()).outcome, ScriptOutcome::TransmitFailed);
  std::size_t created_before = 0;
  for (std::size_t i = 0; i < 30; ++i) created_before += script->steps[i].apdu[1] == 0xE0 ? 1 : 0;
  ASSERT_EQ(created_before, 15u);  // 4 code files, DF_TELECOM + 4 EFs, DF_GSM + 5 EFs

  // The issuer code went onto the card (step 3): the retry opens with it and writes a new one.
  card.power_off();
  card.power_on();
  sent.clear();
  pull_at.reset();
  PersoValues again = values();
  again.opening_code = secret_hex(kIssuerCode);
  again.issuer_code = secret_hex("0102030405060708");
  again.imsi = "001010000654321";
  auto retry = build_personalisation_script(profile, again);
  ASSERT_TRUE(retry);
  auto result = execute_script(over_the_wire(*retry), KeypadEntries{ascii_secret("9876"), ascii_secret("9876"), ascii_secret("87654321")},
                               transmit());
  ASSERT_EQ(result.outcome, ScriptOutcome::Completed) << result.reason;
  EXPECT_EQ(result.status_words.size(), retry->steps.size());
  EXPECT_EQ(sent.size(), count_apdus(*retry) + created_before);  // one SELECT per file that existed
  EXPECT_EQ(count_apdus(*retry), 44u);
  EXPECT_EQ(count_max_apdus(*retry), 44u + 21u);
  for (std::size_t i = 0; i < retry->steps.size(); ++i) EXPECT_TRUE(step_accepts(retry->steps[i], result.status_words[i])) << i;
  std::size_t selects_instead = 0;
  for (std::size_t i = 0; i < retry->steps.size(); ++i)
    if (retry->steps[i].apdu[1] == 0xE0 && (result.status_words[i] >> 8) == 0x9F) ++selects_instead;
  EXPECT_EQ(selects_instead, created_before);
  ASSERT_TRUE(check_proof(result, hex(kKi), hex(kOpc), hex(kRand)));

  // The card holds the retry's values and codes, not the first run's.
  card.power_off();
  card.power_on();
  EXPECT_EQ(sw_of(tx("A020000108 31323334FFFFFFFF")), 0x9804);  // the first run's PIN
  EXPECT_EQ(sw_of(tx("A020000108 39383736FFFFFFFF")), 0x9000);
  EXPECT_EQ(*decode_imsi(read_binary("047F206F07", 9)), "001010000654321");
  EXPECT_EQ(sw_of(tx("A020000A08 a1b2c3d4e5f60718")), 0x9804);
  EXPECT_EQ(sw_of(tx("A020000A08 0102030405060708")), 0x9000);
}

TEST_F(PersoFlow, ExistsFallbackThatDoesNotSelectStopsTheScript) {
  // A card that answers 6A89 to a CREATE and then cannot select the file: the step fails with the
  // SELECT's status word, nothing after it is sent.
  auto script = build_personalisation_script(profile, values());
  ASSERT_TRUE(script);
  std::size_t first_create = 0;
  while (script->steps[first_create].apdu[1] != 0xE0) ++first_create;
  auto liar = [this, first_create](ByteView apdu) -> Result<Bytes> {
    sent.emplace_back(apdu.begin(), apdu.end());
    if (sent.size() == first_create + 1) return Bytes{0x6A, 0x89};
    if (sent.size() == first_create + 2) return Bytes{0x6A, 0x82};
    return card.transmit(apdu);
  };
  auto result = execute_script(*script, customer(), liar);
  EXPECT_EQ(result.outcome, ScriptOutcome::UnexpectedStatus);
  EXPECT_EQ(result.failed_step, first_create);
  EXPECT_EQ(result.status_words.back(), 0x6A82);
  EXPECT_EQ(result.reason, "step " + std::to_string(first_create + 1) + " (" + script->steps[first_create].label +
                               "): file exists; SELECT answered 6A82, expected 9Fxx");
  EXPECT_EQ(sent.size(), first_create + 2);
  EXPECT_EQ(to_hex(sent.back()), to_hex(script->steps[first_create].if_exists));
}

TEST_F(PersoFlow, ModificationChangesSpnAndPlmnSelector) {
  ASSERT_EQ(personalise().outcome, ScriptOutcome::Completed);
  sent.clear();
  card.power_off();
  card.power_on();

  PersoValues m;
  m.mode = PersoMode::Modify;
  m.iccid = kIccid;
  m.opening_code = secret_hex(kIssuerCode);
  m.spn = "NEW-NET";
  m.plmns = std::vector<Plmn>{{"295", "10"}};
  m.rand = hex("ffeeddccbbaa99887766554433221100");
  auto script = build_personalisation_script(profile, m);
  ASSERT_TRUE(script) << script.error().message;
  EXPECT_TRUE(script->prompts.pin);
  EXPECT_FALSE(script->prompts.pin_confirm);
  EXPECT_FALSE(script->prompts.puk);
  // VERIFY ADM, VERIFY CHV1, SELECT by path + UPDATE PLMNsel, SELECT by FID + UPDATE SPN, RUN GSM in the
  // DF_GSM already current, its GET RESPONSE.
  EXPECT_EQ(count_apdus(*script), 8u);

  auto result = execute_script(over_the_wire(*script), {ascii_secret("1234"), {}, {}}, transmit());
  ASSERT_EQ(result.outcome, ScriptOutcome::Completed) << result.reason;
  EXPECT_TRUE(check_proof(result, hex(kKi), hex(kOpc), m.rand));

  card.power_off();
  card.power_on();
  EXPECT_EQ(sw_of(tx("A020000108 31323334FFFFFFFF")), 0x9000);
  EXPECT_EQ(decode_spn(read_binary("047F206F46", 17))->name, "NEW-NET");
  EXPECT_EQ(*decode_plmnsel(read_binary("047F206F30", 24)), *m.plmns);
  EXPECT_EQ(*decode_imsi(read_binary("047F206F07", 9)), "001010000123456");  // untouched

  // Modifying with the master code fails at its first step.
  sent.clear();
  m.opening_code = master;
  auto again = build_personalisation_script(profile, m);
  ASSERT_TRUE(again);
  auto refused = execute_script(*again, {ascii_secret("1234"), {}, {}}, transmit());
  EXPECT_EQ(refused.status_words, std::vector<std::uint16_t>{0x9804});
  EXPECT_EQ(sent.size(), 1u);
}

TEST_F(PersoFlow, BuilderRefusesMissingOrBadValues) {
  PersoValues v = values();
  v.imsi.clear();
  EXPECT_EQ(build_personalisation_script(profile, v).error().message,
            "file 3F00/7F20/6F07 (IMSI): the profile writes the IMSI but none was given");
  v = values();
  v.spn = "caf\xc3\xa9";
  EXPECT_FALSE(build_personalisation_script(profile, v));
  v = values();
  v.rand.clear();
  EXPECT_FALSE(build_personalisation_script(profile, v));
  v = values();
  v.ki = secret_hex("0011");
  EXPECT_FALSE(build_personalisation_script(profile, v));
  v = values();
  v.opening_code = secret_hex("01");
  EXPECT_EQ(build_personalisation_script(profile, v).error().message, "opening code must be 8 bytes");
  PersoValues nothing;
  nothing.mode = PersoMode::Modify;
  nothing.opening_code = secret_hex(kIssuerCode);
  EXPECT_EQ(build_personalisation_script(profile, nothing).error().message,
            "modification: no value to change was given");
}
