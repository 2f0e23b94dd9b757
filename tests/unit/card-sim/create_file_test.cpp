// CREATE FILE (TS 102 222 FCP) with GSM access conditions in tag 86.
#include "test_card.hpp"

using namespace cardperso;
using namespace cardperso::cardsim;
using namespace cardperso::cardsim::test;

namespace {
std::string create(std::string_view fcp_body) {
  const Bytes body = hex(fcp_body);
  Bytes fcp{0x62, static_cast<std::uint8_t>(body.size())};
  fcp.insert(fcp.end(), body.begin(), body.end());
  Bytes apdu{0xA0, 0xE0, 0x00, 0x00, static_cast<std::uint8_t>(fcp.size())};
  apdu.insert(apdu.end(), fcp.begin(), fcp.end());
  return to_hex(apdu);
}

SimCard admin_card() {
  SimCard c(test_image());
  EXPECT_EQ(sw(c, verify("0A", kAdm)), 0x9000);
  return c;
}
}  // namespace

TEST(CreateFile, TransparentWithGsmAccessBytes) {
  auto c = admin_card();
  EXPECT_EQ(sw(c, select("7F20")), 0x9F17);
  // The FCP of an ETSI TS 102 222 CREATE FILE example, plus tag 86: read ALW, update CHV1.
  EXPECT_EQ(sw(c, create("82024121 83026F78 8A0105 8B036F0601 800200 02 8603 01F0AA")), 0x9000);
  EXPECT_TRUE(c.state_changed());
  // The new file is selected and blank.
  EXPECT_EQ(tx(c, "A0B0000002"), hex("FFFF 9000"));
  Bytes r = select_response(c, "6F78");
  ASSERT_EQ(r.size(), 15u);
  EXPECT_EQ(get_u16(r, 2), 2);
  EXPECT_EQ(r[8], 0x01);
  EXPECT_EQ(r[10], 0xAA);
  c.power_on();
  EXPECT_EQ(sw(c, "A0A4080004 7F206F78"), 0x9F0F);
  EXPECT_EQ(sw(c, "A0D6000002 0001"), 0x9804);
  EXPECT_EQ(sw(c, verify("01", kPin1)), 0x9000);
  EXPECT_EQ(sw(c, "A0D6000002 0001"), 0x9000);
  EXPECT_EQ(tx(c, "A0B0000002"), hex("0001 9000"));
}

TEST(CreateFile, ExampleFromDocs) {
  auto c = admin_card();
  EXPECT_EQ(sw(c, select("7F20")), 0x9F17);
  EXPECT_EQ(sw(c, "A0 E0 00 00 1B 62 19 82 02 41 21 83 02 6F 78 8A 01 05 8B 03 6F 06 01 80 02 00 02 86 03 01 F0 AA"),
            0x9000);
}

TEST(CreateFile, WithoutTag86OnlyAdm) {
  auto c = admin_card();
  EXPECT_EQ(sw(c, create("82024121 83026F05 800104")), 0x9000);
  Bytes r = select_response(c, "6F05");
  ASSERT_EQ(r.size(), 15u);
  EXPECT_EQ(r[8], 0xAA);
  EXPECT_EQ(r[10], 0xAA);
}

TEST(CreateFile, RecordFilesAndDf) {
  auto c = admin_card();
  EXPECT_EQ(sw(c, create("82027821 83027F30 C609900140830101830181")), 0x9000);  // DF, now current
  Bytes st = tx(c, "A0F2000017");
  ASSERT_EQ(sw_of(st), 0x9000);
  EXPECT_EQ(get_u16(data_of(st), 4), 0x7F30);
  EXPECT_EQ(sw(c, create("82054221000E05 83026F40 8603 11F0AA")), 0x9000);
  Bytes r = select_response(c, "6F40");
  ASSERT_EQ(r.size(), 15u);
  EXPECT_EQ(get_u16(r, 2), 70);
  EXPECT_EQ(r[13], 0x01);
  EXPECT_EQ(r[14], 14);
  EXPECT_EQ(sw(c, create("82054621000302 83026F39 8603 11F0AA")), 0x9000);
  r = select_response(c, "6F39");
  ASSERT_EQ(r.size(), 15u);
  EXPECT_EQ(r[13], 0x03);
  EXPECT_EQ(sw(c, verify("01", kPin1)), 0x9000);
  EXPECT_EQ(sw(c, "A0DC000303 010203"), 0x9000);
  EXPECT_EQ(tx(c, "A0B2010403"), hex("010203 9000"));
  EXPECT_EQ(tx(c, "A0B2020403"), hex("FFFFFF 9000"));
}

TEST(CreateFile, RefusedWithoutAdm) {
  SimCard c(test_image());
  EXPECT_EQ(sw(c, verify("01", kPin1)), 0x9000);
  EXPECT_EQ(sw(c, create("82024121 83026F05 800104")), 0x9804);
  EXPECT_FALSE(c.state_changed());
}

TEST(CreateFile, Duplicates) {
  auto c = admin_card();
  EXPECT_EQ(sw(c, create("82024121 83022FE2 80010A")), 0x6A89);
  EXPECT_EQ(sw(c, create("82027821 83027F20")), 0x6A89);
  EXPECT_EQ(sw(c, select("7F20")), 0x9F17);
  EXPECT_EQ(sw(c, create("82027821 83027F20")), 0x6A89);  // the current DF's own FID
  EXPECT_EQ(sw(c, create("82024121 83026F07 800109")), 0x6A89);
}

TEST(CreateFile, BadFcp) {
  auto c = admin_card();
  EXPECT_EQ(sw(c, "A0E0000004 63028201"), 0x6A80);                     // not tag 62
  EXPECT_EQ(sw(c, create("83026F05 800104")), 0x6A80);                 // no descriptor
  EXPECT_EQ(sw(c, create("82024121 800104")), 0x6A80);                 // no FID
  EXPECT_EQ(sw(c, create("82024121 83026F05")), 0x6A80);               // transparent without size
  EXPECT_EQ(sw(c, create("82024121 83026F05 800100")), 0x6A80);        // size 0
  EXPECT_EQ(sw(c, create("82023921 83026F05 800104")), 0x6A80);        // BER-TLV EF: not a GSM file
  EXPECT_EQ(sw(c, create("82024121 83013F 800104")), 0x6A80);          // 1-byte FID
  EXPECT_EQ(sw(c, create("82024121 83023F00 800104")), 0x6A80);        // reserved FID
  EXPECT_EQ(sw(c, create("82024121 83026F05 800104 8602 0000")), 0x6A80);  // tag 86 must be 3 bytes
  EXPECT_EQ(sw(c, create("82024121 83026F05 83026F06 800104")), 0x6A80);   // repeated tag
  EXPECT_EQ(sw(c, create("82024121 83026F05 800104 9901 00")), 0x6A80);    // unknown tag
  EXPECT_EQ(sw(c, create("82044221000E 83026F40")), 0x6A80);           // record descriptor too short
  EXPECT_EQ(sw(c, create("82054221000000 83026F40")), 0x6A80);         // zero-length records
  EXPECT_EQ(sw(c, create("82054221000E00 83026F40")), 0x6A80);         // zero records
  EXPECT_EQ(sw(c, "A0E0010004 62028201"), 0x6B00);
  EXPECT_EQ(sw(c, "A0E0000000"), 0x6700);
  EXPECT_FALSE(c.state_changed());
}

TEST(CreateFile, TruncatedLengthFields) {
  auto c = admin_card();
  // Outer length larger than the data.
  EXPECT_EQ(sw(c, "A0E0000005 6210820241"), 0x6A80);
  // Inner length running past the template.
  EXPECT_EQ(sw(c, "A0E0000006 6204 8205 4121"), 0x6A80);
  // A lone tag without a length byte.
  EXPECT_EQ(sw(c, "A0E0000003 620182"), 0x6A80);
  EXPECT_EQ(sw(c, "A0E0000005 6203 830241"), 0x6A80);
  // 81-form length with nothing after it, or longer than the data; 82-form lengths are refused.
  EXPECT_EQ(sw(c, "A0E0000002 6281"), 0x6A80);
  EXPECT_EQ(sw(c, "A0E0000003 628182"), 0x6A80);
  EXPECT_EQ(sw(c, "A0E0000004 62820001"), 0x6A80);
  // Long form accepted when consistent.
  EXPECT_EQ(sw(c, "A0E000000E 62810B 82024121 83026F05 800104"), 0x9000);
  // P3 disagrees with the data.
  EXPECT_EQ(sw(c, "A0E0000010 6208 82024121 83026F06"), 0x6700);
}

TEST(CreateFile, Limits) {
  auto c = admin_card();
  EXPECT_EQ(sw(c, create("82024121 83026F05 80021001")), 0x6A84);          // 4097 bytes
  EXPECT_EQ(sw(c, create("82024121 83026F05 80021000")), 0x9000);          // 4096 bytes
  EXPECT_EQ(sw(c, create("82054221010001 83026F40")), 0x6A84);             // record length 256
  EXPECT_EQ(sw(c, create("820542210010FF 83026F41")), 0x6A84);             // 255 records
  EXPECT_EQ(sw(c, create("82054221001020 83026F42")), 0x9000);             // 32 x 16
  EXPECT_EQ(sw(c, create("820542210020FE 83026F43")), 0x6A84);             // 254 x 32 > 4096 bytes
  // Depth: MF / DF / DF / EF, no deeper DF.
  EXPECT_EQ(sw(c, "A0A4080004 7F205F3C"), 0x9F17);
  EXPECT_EQ(sw(c, create("82027821 83025F01")), 0x6A84);
  EXPECT_EQ(sw(c, create("82024121 83024F21 800101")), 0x9000);
  // File count.
  EXPECT_EQ(sw(c, select("3F00")), 0x9F17);
  const std::size_t before = c.image().files.size();
  std::size_t made = 0;
  for (unsigned fid = 0x6000; fid < 0x6100; ++fid) {
    char body[64];
    std::snprintf(body, sizeof body, "82024121 8302%04X 800101", fid);
    auto w = sw(c, create(body));
    if (w == 0x6A84) break;
    ASSERT_EQ(w, 0x9000);
    ++made;
  }
  EXPECT_EQ(before + made, 200u);
  EXPECT_EQ(c.image().files.size(), 200u);
}
