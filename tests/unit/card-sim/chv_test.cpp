// VERIFY, CHANGE, DISABLE, ENABLE, UNBLOCK CHV and the code files.
#include "cardperso/cardsim/card_builders.hpp"
#include "test_card.hpp"

using namespace cardperso;
using namespace cardperso::cardsim;
using namespace cardperso::cardsim::test;

namespace {
std::uint8_t chv_status(SimCard& c, std::size_t at) {
  Bytes r = select_response(c, "3F00");
  return r.size() == 23 ? r[at] : 0xEE;
}
constexpr std::size_t kChv1Status = 18, kUnblock1Status = 19, kChv2Status = 20;
}  // namespace

TEST(Verify, CountsDownToBlockedAndStaysBlocked) {
  SimCard c(test_image());
  EXPECT_EQ(sw(c, verify("01", kWrong)), 0x9804);
  EXPECT_TRUE(c.state_changed());
  EXPECT_EQ(chv_status(c, kChv1Status), 0x82);
  EXPECT_EQ(sw(c, verify("01", kWrong)), 0x9804);
  EXPECT_EQ(sw(c, verify("01", kWrong)), 0x9840);
  EXPECT_EQ(c.image().tries_left.at(0x01), 0);
  EXPECT_EQ(sw(c, verify("01", kPin1)), 0x9840);  // the right code cannot open a blocked CHV
  c.power_on();
  EXPECT_EQ(sw(c, verify("01", kPin1)), 0x9840);
  EXPECT_EQ(chv_status(c, kChv1Status), 0x80);
}

TEST(Verify, RightCodeResetsTheCounter) {
  SimCard c(test_image());
  EXPECT_EQ(sw(c, verify("01", kWrong)), 0x9804);
  EXPECT_EQ(sw(c, verify("01", kPin1)), 0x9000);
  EXPECT_TRUE(c.state_changed());
  EXPECT_EQ(c.image().tries_left.at(0x01), 3);
  EXPECT_EQ(sw(c, verify("01", kPin1)), 0x9000);
  EXPECT_FALSE(c.state_changed());  // nothing to save
}

TEST(Verify, ParametersAndUninitialisedCodes) {
  SimCard c(test_image());
  EXPECT_EQ(sw(c, "A0200001 04 31323334"), 0x6708);
  EXPECT_EQ(sw(c, verify("03", kPin1)), 0x6B00);
  EXPECT_EQ(sw(c, "A0200101 08" + std::string(kPin1)), 0x6B00);
  EXPECT_EQ(sw(c, "A0200001 08 3132"), 0x6700);  // truncated

  auto img = test_image();
  img.files.erase(img.files.begin() + 4);  // 3F00/0002: no CHV2
  img.files[2].data = hex("FFFFFFFFFFFFFFFF");  // CHV1 all FF: not initialised
  SimCard blank(img);
  EXPECT_EQ(sw(blank, verify("01", kPin1)), 0x9802);
  EXPECT_EQ(sw(blank, verify("02", kPin2)), 0x9802);
  EXPECT_EQ(chv_status(blank, kChv1Status) & 0x80, 0);
}

TEST(ChangeChv, NeedsTheOldCode) {
  SimCard c(test_image());
  const std::string new_pin = "39383736FFFFFFFF";
  EXPECT_EQ(sw(c, "A0240001 10" + std::string(kWrong) + new_pin), 0x9804);
  EXPECT_EQ(sw(c, "A0240001 10" + std::string(kPin1) + new_pin), 0x9000);
  EXPECT_TRUE(c.state_changed());
  EXPECT_EQ(c.image().tries_left.at(0x01), 3);
  EXPECT_EQ(sw(c, verify("01", kPin1)), 0x9804);
  EXPECT_EQ(sw(c, verify("01", new_pin)), 0x9000);
  EXPECT_EQ(sw(c, "A0240002 10" + std::string(kPin2) + new_pin), 0x9000);
  EXPECT_EQ(sw(c, verify("02", new_pin)), 0x9000);
  EXPECT_EQ(sw(c, "A024000A 10" + std::string(kAdm) + new_pin), 0x6B00);  // ADM changes through its file
  EXPECT_EQ(sw(c, "A0240001 08" + std::string(kPin1)), 0x6710);
}

TEST(DisableEnable, Chv1) {
  SimCard c(test_image());
  EXPECT_EQ(sw(c, "A0A4080004 7F206F07"), 0x9F0F);
  EXPECT_EQ(sw(c, "A0B0000009"), 0x9804);
  EXPECT_EQ(sw(c, "A0260001 08" + std::string(kWrong)), 0x9804);
  EXPECT_EQ(sw(c, "A0260001 08" + std::string(kPin1)), 0x9000);
  EXPECT_TRUE(c.state_changed());
  c.power_on();
  // Disabled CHV1 satisfies CHV1 access conditions.
  EXPECT_EQ(sw(c, "A0A4080004 7F206F07"), 0x9F0F);
  EXPECT_EQ(sw(c, "A0B0000009"), 0x9000);
  EXPECT_EQ(chv_status(c, 13) & 0x80, 0x80);
  EXPECT_EQ(sw(c, verify("01", kPin1)), 0x9808);
  EXPECT_EQ(sw(c, "A0260001 08" + std::string(kPin1)), 0x9808);
  EXPECT_EQ(sw(c, "A0240001 10" + std::string(kPin1) + std::string(kPin1)), 0x9808);
  EXPECT_EQ(sw(c, "A0260002 08" + std::string(kPin2)), 0x6B00);  // only CHV1 can be disabled
  EXPECT_EQ(sw(c, "A0280001 08" + std::string(kWrong)), 0x9804);
  EXPECT_EQ(sw(c, "A0280001 08" + std::string(kPin1)), 0x9000);
  c.power_on();
  EXPECT_EQ(sw(c, "A0A4080004 7F206F07"), 0x9F0F);
  EXPECT_EQ(sw(c, "A0B0000009"), 0x9804);
  EXPECT_EQ(sw(c, "A0280001 08" + std::string(kPin1)), 0x9808);  // already enabled
}

TEST(Unblock, RestoresChv1WithP2Zero) {
  SimCard c(test_image());
  for (int i = 0; i < 3; ++i) (void)tx(c, verify("01", kWrong));
  EXPECT_EQ(sw(c, verify("01", kPin1)), 0x9840);
  const std::string new_pin = "30303030FFFFFFFF";
  EXPECT_EQ(sw(c, "A02C0001 10" + std::string(kPuk1) + new_pin), 0x6B00);  // CHV1 is 00 here
  EXPECT_EQ(sw(c, "A02C0000 10" + std::string(kWrong) + new_pin), 0x9804);
  EXPECT_EQ(chv_status(c, kUnblock1Status), 0x89);
  EXPECT_EQ(sw(c, "A02C0000 10" + std::string(kPuk1) + new_pin), 0x9000);
  EXPECT_TRUE(c.state_changed());
  EXPECT_EQ(c.image().tries_left.at(0x01), 3);
  EXPECT_EQ(c.image().tries_left.at(0x81), 10);
  // Unblocking counts as verifying the new CHV1.
  EXPECT_EQ(sw(c, "A0A4080004 7F206F07"), 0x9F0F);
  EXPECT_EQ(sw(c, "A0B0000009"), 0x9000);
  EXPECT_EQ(sw(c, verify("01", new_pin)), 0x9000);
  EXPECT_EQ(sw(c, verify("01", kPin1)), 0x9804);
}

TEST(Unblock, Chv2AndPukBlocking) {
  SimCard c(test_image());
  for (int i = 0; i < 9; ++i) EXPECT_EQ(sw(c, "A02C0002 10" + std::string(kWrong) + kPin1), 0x9804);
  EXPECT_EQ(chv_status(c, kChv2Status), 0x83);
  EXPECT_EQ(sw(c, "A02C0002 10" + std::string(kWrong) + kPin1), 0x9840);
  EXPECT_EQ(sw(c, "A02C0002 10" + std::string(kPuk2) + kPin1), 0x9840);  // blocked PUK stays blocked
  EXPECT_EQ(sw(c, verify("02", kPin2)), 0x9000);  // CHV2 itself was never touched
  EXPECT_EQ(sw(c, "A02C000A 10" + std::string(kAdm) + kAdm), 0x6B00);  // ADM1 has no unblock
  EXPECT_EQ(sw(c, "A02C0000 08" + std::string(kPuk1)), 0x6710);
}

TEST(Adm, BlockedAfterThreeWrongAndNoWayBack) {
  SimCard c(test_image());
  EXPECT_EQ(sw(c, verify("0A", kWrong)), 0x9804);
  EXPECT_EQ(sw(c, verify("0A", kWrong)), 0x9804);
  EXPECT_EQ(sw(c, verify("0A", kWrong)), 0x9840);
  EXPECT_EQ(sw(c, verify("0A", kAdm)), 0x9840);
}

TEST(CodeFiles, NeverReadableAndWritingSetsTheCode) {
  SimCard c(test_image());
  EXPECT_EQ(sw(c, verify("0A", kAdm)), 0x9000);
  for (const char* fid : {"0000", "0001", "0002", "0003", "000A"}) {
    EXPECT_EQ(sw(c, select(fid)), 0x9F0F) << fid;
    EXPECT_EQ(sw(c, "A0B0000008"), 0x9804) << fid;
  }
  // Block CHV1, then rewrite its file under ADM: the new code works and the counter is full again.
  for (int i = 0; i < 3; ++i) (void)tx(c, verify("01", kWrong));
  EXPECT_EQ(sw(c, select("0000")), 0x9F0F);
  EXPECT_EQ(sw(c, "A0D6000008 3535353535353535"), 0x9000);
  EXPECT_TRUE(c.state_changed());
  EXPECT_EQ(c.image().tries_left.at(0x01), 3);
  EXPECT_EQ(sw(c, verify("01", "3535353535353535")), 0x9000);
}

TEST(CodeFiles, AdmOpensABlankCardAndReplacesItsCode) {
  const std::string iccid = "8988211000000000011";
  const Bytes secret = hex("000102030405060708090a0b0c0d0e0f");
  auto master = derive_master_code(secret, iccid);
  SimCard c(make_blank_sim(iccid, master.view()));
  EXPECT_EQ(sw(c, select("000A")), 0x9F0F);
  EXPECT_EQ(sw(c, "A0D6000008 3232323232323232"), 0x9804);  // a write without ADM
  EXPECT_EQ(sw(c, verify("01", kPin1)), 0x9802);             // no CHV1 on a blank card
  c.power_on();
  EXPECT_EQ(sw(c, verify("0A", to_hex(master.view()))), 0x9000);
  EXPECT_EQ(sw(c, select("000A")), 0x9F0F);
  EXPECT_EQ(sw(c, "A0D6000008 3232323232323232"), 0x9000);   // the issuer code replaces the master code
  c.power_on();
  EXPECT_EQ(sw(c, verify("0A", to_hex(master.view()))), 0x9804);
  EXPECT_EQ(sw(c, verify("0A", "3232323232323232")), 0x9000);
}
