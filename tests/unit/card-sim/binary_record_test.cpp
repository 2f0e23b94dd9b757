// READ/UPDATE BINARY, READ/UPDATE RECORD (linear fixed and cyclic), INVALIDATE/REHABILITATE.
#include "test_card.hpp"

using namespace cardperso;
using namespace cardperso::cardsim;
using namespace cardperso::cardsim::test;

namespace {
SimCard unlocked_card() {
  SimCard c(test_image());
  EXPECT_EQ(sw(c, verify("01", kPin1)), 0x9000);
  return c;
}
}  // namespace

TEST(Binary, ReadAlwaysAndOffsets) {
  SimCard c(test_image());
  EXPECT_EQ(sw(c, "A0B0000001"), 0x9400);  // no EF selected
  EXPECT_EQ(sw(c, select("2FE2")), 0x9F0F);
  EXPECT_EQ(tx(c, "A0B000000A"), hex("988812310203000020f8 9000"));
  EXPECT_EQ(tx(c, "A0B0000803"), hex("9402"));  // runs past the end
  EXPECT_EQ(tx(c, "A0B0000802"), hex("20f8 9000"));
  EXPECT_EQ(sw(c, "A0B0000A01"), 0x9402);       // offset at the end
  EXPECT_EQ(sw(c, "A0B0010001"), 0x9402);
  EXPECT_EQ(sw(c, "A0B0000000"), 0x9402);       // P3 = 0 means 256
  EXPECT_EQ(sw(c, select("7F10")), 0x9F17);
  EXPECT_EQ(sw(c, "A0B0000001"), 0x9400);       // a DF leaves no EF selected
}

TEST(Binary, AccessConditions) {
  SimCard c(test_image());
  EXPECT_EQ(sw(c, select("7F20")), 0x9F17);
  EXPECT_EQ(sw(c, select("6F07")), 0x9F0F);
  EXPECT_EQ(sw(c, "A0B0000009"), 0x9804);  // CHV1 not verified
  EXPECT_EQ(sw(c, verify("01", kPin1)), 0x9000);
  EXPECT_EQ(tx(c, "A0B0000009"), hex("080910100000214365 9000"));
  EXPECT_EQ(sw(c, "A0D6000001 09"), 0x9804);  // update needs ADM
  EXPECT_FALSE(c.state_changed());
  EXPECT_EQ(sw(c, verify("0A", kAdm)), 0x9000);
  EXPECT_EQ(sw(c, "A0D6000702 7788"), 0x9000);
  EXPECT_TRUE(c.state_changed());
  EXPECT_EQ(tx(c, "A0B0000603"), hex("217788 9000"));
  EXPECT_EQ(sw(c, "A0D6000802 7788"), 0x9402);  // runs past the end
  EXPECT_EQ(sw(c, "A0D6000901 77"), 0x9402);    // offset at the end
  EXPECT_FALSE(c.state_changed());
  EXPECT_EQ(sw(c, "A0D6000000"), 0x6700);
  // Power cycle forgets what was verified.
  c.power_on();
  EXPECT_EQ(sw(c, "A0A4080004 7F206F07"), 0x9F0F);
  EXPECT_EQ(sw(c, "A0B0000009"), 0x9804);
}

TEST(Binary, IccidNeverWritableNotEvenWithAdm) {
  SimCard c(test_image());
  EXPECT_EQ(sw(c, verify("0A", kAdm)), 0x9000);
  EXPECT_EQ(sw(c, select("2FE2")), 0x9F0F);
  EXPECT_EQ(sw(c, "A0D6000001 00"), 0x9804);
}

TEST(Binary, Chv2ProtectedFile) {
  auto c = unlocked_card();
  EXPECT_EQ(sw(c, "A0A4080004 7F106F3B"), 0x9F0F);
  EXPECT_EQ(tx(c, "A0B0000004"), hex("aabbccdd 9000"));  // read CHV1
  EXPECT_EQ(sw(c, "A0D6000001 00"), 0x9804);             // update CHV2
  EXPECT_EQ(sw(c, verify("02", kPin2)), 0x9000);
  EXPECT_EQ(sw(c, "A0D6000001 00"), 0x9000);
}

TEST(Binary, WrongStructure) {
  auto c = unlocked_card();
  EXPECT_EQ(sw(c, "A0A4080004 7F106F40"), 0x9F0F);
  EXPECT_EQ(sw(c, "A0B0000004"), 0x9408);
  EXPECT_EQ(sw(c, "A0D6000001 00"), 0x9408);
  EXPECT_EQ(sw(c, "A0A4080002 2FE2"), 0x9F0F);
  EXPECT_EQ(sw(c, "A0B2010404"), 0x9408);
}

TEST(Records, LinearFixedModes) {
  auto c = unlocked_card();
  EXPECT_EQ(sw(c, "A0A4080004 7F106F40"), 0x9F0F);
  EXPECT_EQ(tx(c, "A0B2020404"), hex("05060708 9000"));  // absolute 2
  EXPECT_EQ(tx(c, "A0B2000404"), hex("05060708 9000"));  // current
  EXPECT_EQ(tx(c, "A0B2000204"), hex("09101112 9000"));  // next
  EXPECT_EQ(sw(c, "A0B2000204"), 0x9402);                // no record after the last
  EXPECT_EQ(tx(c, "A0B2000304"), hex("05060708 9000"));  // previous
  EXPECT_EQ(tx(c, "A0B2000304"), hex("01020304 9000"));
  EXPECT_EQ(sw(c, "A0B2000304"), 0x9402);                // none before the first
  EXPECT_EQ(sw(c, "A0B2040404"), 0x9402);                // record 4 of 3
  EXPECT_EQ(sw(c, "A0B2010403"), 0x6704);                // P3 must be the record length
  EXPECT_EQ(sw(c, "A0B2010504"), 0x6B00);                // bad mode
  EXPECT_EQ(sw(c, "A0B2010204"), 0x6B00);                // next mode takes P1 = 0
  // After a fresh SELECT there is no current record: next = first, previous = last.
  EXPECT_EQ(sw(c, "A0A4000002 6F40"), 0x9F0F);
  EXPECT_EQ(sw(c, "A0B2000404"), 0x9402);
  EXPECT_EQ(tx(c, "A0B2000204"), hex("01020304 9000"));
  EXPECT_EQ(sw(c, "A0A4000002 6F40"), 0x9F0F);
  EXPECT_EQ(tx(c, "A0B2000304"), hex("09101112 9000"));
}

TEST(Records, LinearFixedUpdate) {
  auto c = unlocked_card();
  EXPECT_EQ(sw(c, "A0A4080004 7F106F40"), 0x9F0F);
  EXPECT_EQ(sw(c, "A0DC020404 AABBCCDD"), 0x9000);
  EXPECT_TRUE(c.state_changed());
  EXPECT_EQ(sw(c, "A0DC000204 EEEEEEEE"), 0x9000);  // next after 2 = 3
  EXPECT_EQ(tx(c, "A0B2030404"), hex("EEEEEEEE 9000"));
  EXPECT_EQ(tx(c, "A0B2020404"), hex("AABBCCDD 9000"));
  EXPECT_EQ(sw(c, "A0DC040404 00000000"), 0x9402);
  EXPECT_EQ(sw(c, "A0DC010403 000000"), 0x6704);
  EXPECT_EQ(sw(c, "A0DC010404 000000"), 0x6700);  // data shorter than P3
  c.power_on();
  EXPECT_EQ(sw(c, "A0A4080004 7F106F40"), 0x9F0F);
  EXPECT_EQ(sw(c, "A0DC010404 00000000"), 0x9804);
}

TEST(Records, Cyclic) {
  auto c = unlocked_card();
  EXPECT_EQ(sw(c, "A0A4080004 7F206F39"), 0x9F0F);
  EXPECT_EQ(tx(c, "A0B2010403"), hex("111111 9000"));
  EXPECT_EQ(sw(c, "A0DC010403 999999"), 0x9408);  // cyclic: PREVIOUS only
  EXPECT_EQ(sw(c, "A0DC000303 444444"), 0x9000);  // overwrites the oldest, becomes record 1
  EXPECT_EQ(tx(c, "A0B2010403"), hex("444444 9000"));
  EXPECT_EQ(tx(c, "A0B2020403"), hex("111111 9000"));
  EXPECT_EQ(tx(c, "A0B2030403"), hex("222222 9000"));
  // Next wraps from the last record to the first.
  EXPECT_EQ(tx(c, "A0B2000203"), hex("444444 9000"));
  EXPECT_EQ(tx(c, "A0B2000303"), hex("222222 9000"));  // previous wraps from the first to the last
}

TEST(InvalidateRehabilitate, ProtectsTheFile) {
  auto c = unlocked_card();
  EXPECT_EQ(sw(c, "A0A4080004 7F206F7E"), 0x9F0F);
  EXPECT_EQ(sw(c, "A0040000 00"), 0x9000);
  EXPECT_TRUE(c.state_changed());
  EXPECT_EQ(sw(c, "A0B0000001"), 0x9810);
  Bytes r = select_response(c, "6F7E");
  ASSERT_EQ(r.size(), 15u);
  EXPECT_EQ(r[11] & 0x01, 0);
  EXPECT_EQ(sw(c, "A044000000"), 0x9000);
  EXPECT_EQ(tx(c, "A0B0000001"), hex("00 9000"));
  EXPECT_EQ(sw(c, "A044000001 00"), 0x6700);
  // 6F46's invalidate condition is ADM.
  EXPECT_EQ(sw(c, select("6F46")), 0x9F0F);
  EXPECT_EQ(sw(c, "A004000000"), 0x9804);
}
