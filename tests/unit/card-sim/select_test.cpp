// Class/INS/length checks, SELECT (all kinds), GET RESPONSE and STATUS layouts.
#include "test_card.hpp"

using namespace cardperso;
using namespace cardperso::cardsim;
using namespace cardperso::cardsim::test;

namespace {
SimCard card() { return SimCard(test_image()); }
}  // namespace

TEST(CardDispatch, WrongClassAnswers6E00) {
  auto c = card();
  // SIM readers (pySim, osmocom) tell a GSM SIM from a UICC by this exact APDU (docs/cards.md §1.5).
  EXPECT_EQ(sw(c, "00A4000402 3F00"), 0x6E00);
  EXPECT_EQ(sw(c, "80F2000016"), 0x6E00);
  EXPECT_EQ(sw(c, "00"), 0x6E00);
}

TEST(CardDispatch, UnknownInsBadLengthsAndShortApdus) {
  auto c = card();
  EXPECT_EQ(sw(c, "A0FF000000"), 0x6D00);
  EXPECT_EQ(sw(c, "A032000003"), 0x6D00);  // INCREASE is not implemented
  EXPECT_EQ(sw(c, "A0A4000002 3F"), 0x6700);      // data shorter than P3
  EXPECT_EQ(sw(c, "A0A4000002 3F0000AA"), 0x6700);  // longer than P3 + Le
  EXPECT_EQ(sw(c, "A0B00000 01"), 0x9400);   // well formed, nothing selected
  EXPECT_EQ(sw(c, "A0B0000001 00"), 0x6700);  // case 2 command with data
  EXPECT_EQ(sw(c, "A0A4"), 0x6700);
  EXPECT_EQ(c.transmit(Bytes{}), hex("6700"));
  EXPECT_EQ(sw(c, "A0FA000000"), 0x9000);  // SLEEP
}

TEST(CardDispatch, AtrOffersT0Only) {
  auto c = card();
  const Bytes& atr = c.atr();
  ASSERT_EQ(atr.size(), 12u);
  EXPECT_EQ(atr[0], 0x3B);
  EXPECT_EQ(atr[1], 0x98);  // TA1, TD1, 8 historical bytes
  EXPECT_EQ(atr[3], 0x00);  // TD1: T=0, nothing follows
  EXPECT_EQ(std::string(atr.begin() + 4, atr.end()), "CPSIM001");
}

TEST(Select, MfResponseLayout) {
  auto c = card();
  EXPECT_EQ(sw(c, select("3F00")), 0x9F17);
  Bytes r = select_response(c, "3F00");
  ASSERT_EQ(r.size(), 23u);
  EXPECT_EQ(get_u16(r, 4), 0x3F00);
  EXPECT_EQ(r[6], 0x01);  // MF
  EXPECT_EQ(r[12], 10);   // length of the GSM data
  EXPECT_EQ(r[13] & 0x80, 0);  // CHV1 enabled
  EXPECT_EQ(r[14], 2);    // DF_TELECOM, DF_GSM
  EXPECT_EQ(r[15], 6);    // ICCID + five code files
  EXPECT_EQ(r[16], 5);    // codes initialised
  EXPECT_EQ(r[18], 0x83);  // CHV1 initialised, 3 tries
  EXPECT_EQ(r[19], 0x8A);  // UNBLOCK1, 10 tries
  EXPECT_EQ(r[20], 0x83);
  EXPECT_EQ(r[21], 0x8A);
  EXPECT_GT(get_u16(r, 2), 0);  // free memory
}

TEST(Select, DfAndEfResponseLayout) {
  auto c = card();
  Bytes d = select_response(c, "7F20");
  ASSERT_EQ(d.size(), 23u);
  EXPECT_EQ(get_u16(d, 4), 0x7F20);
  EXPECT_EQ(d[6], 0x02);
  EXPECT_EQ(d[14], 1);  // 5F3C
  EXPECT_EQ(d[15], 6);

  Bytes e = select_response(c, "6F07");
  ASSERT_EQ(e.size(), 15u);
  EXPECT_EQ(get_u16(e, 2), 9);  // size
  EXPECT_EQ(get_u16(e, 4), 0x6F07);
  EXPECT_EQ(e[6], 0x04);
  EXPECT_EQ(e[8], 0x1A);  // read CHV1, update ADM
  EXPECT_EQ(e[9], 0xF0);
  EXPECT_EQ(e[10], 0xAA);
  EXPECT_EQ(e[11], 0x01);  // not invalidated
  EXPECT_EQ(e[12], 0x02);
  EXPECT_EQ(e[13], 0x00);  // transparent
  EXPECT_EQ(e[14], 0x00);

  Bytes cyc = select_response(c, "6F39");
  ASSERT_EQ(cyc.size(), 15u);
  EXPECT_EQ(get_u16(cyc, 2), 9);
  EXPECT_EQ(cyc[13], 0x03);  // cyclic
  EXPECT_EQ(cyc[14], 3);     // record length
}

TEST(Select, GsmSelectionRules) {
  auto c = card();
  EXPECT_EQ(sw(c, select("7F20")), 0x9F17);  // child DF of the MF
  EXPECT_EQ(sw(c, select("6F07")), 0x9F0F);  // child EF of the current DF
  EXPECT_EQ(sw(c, select("6F46")), 0x9F0F);  // sibling EF (current DF is still DF_GSM)
  EXPECT_EQ(sw(c, select("7F20")), 0x9F17);  // the current DF itself
  EXPECT_EQ(sw(c, select("7F10")), 0x9F17);  // sibling DF
  EXPECT_EQ(sw(c, select("6F07")), 0x9404);  // not a child of DF_TELECOM
  EXPECT_EQ(sw(c, select("6F40")), 0x9F0F);
  EXPECT_EQ(sw(c, select("3F00")), 0x9F17);  // the MF, always
  EXPECT_EQ(sw(c, select("7F20")), 0x9F17);
  EXPECT_EQ(sw(c, select("5F3C")), 0x9F17);
  EXPECT_EQ(sw(c, select("7F20")), 0x9F17);  // the parent DF
  EXPECT_EQ(sw(c, select("5F3C")), 0x9F17);
  EXPECT_EQ(sw(c, select("7F10")), 0x9404);  // not a sibling of 5F3C
  EXPECT_EQ(sw(c, select("2FE2")), 0x9404);  // an EF of the MF is not reachable from 5F3C
  EXPECT_EQ(sw(c, select("1234")), 0x9404);
}

TEST(Select, ByPathExtension) {
  auto c = card();
  EXPECT_EQ(sw(c, "A0A4080004 7F206F07"), 0x9F0F);
  EXPECT_EQ(sw(c, "A0B0000009"), 0x9804);  // 6F07 selected, CHV1 needed
  EXPECT_EQ(sw(c, "A0A4080006 7F205F3C4F20"), 0x9F0F);
  EXPECT_EQ(data_of(tx(c, "A0B0000001")), hex("42"));
  EXPECT_EQ(sw(c, "A0A4080002 7F10"), 0x9F17);
  EXPECT_EQ(sw(c, "A0A4090002 6F40"), 0x9F0F);         // from the current DF (7F10)
  EXPECT_EQ(sw(c, "A0A4090004 7F206F07"), 0x9404);     // 7F20 is not a child of 7F10
  EXPECT_EQ(sw(c, "A0A4080004 6F077F20"), 0x9404);     // an EF cannot be a step
  EXPECT_EQ(sw(c, "A0A4080003 7F206F"), 0x6700);       // odd length
  EXPECT_EQ(sw(c, "A0A4080000"), 0x6700);
  EXPECT_EQ(sw(c, "A0A4040002 7F20"), 0x6B00);         // select by AID is not GSM
  EXPECT_EQ(sw(c, "A0A4000102 7F20"), 0x6B00);
  EXPECT_EQ(sw(c, "A0A4000001 7F"), 0x6702);
}

TEST(Select, TrailingLeIsIgnored) {
  auto c = card();
  EXPECT_EQ(sw(c, "A0A4000002 7F20 00"), 0x9F17);
}

TEST(GetResponse, PrefixTooLongAndNothingPending) {
  auto c = card();
  EXPECT_EQ(sw(c, "A0C0000010"), 0x6F00);  // nothing pending
  EXPECT_EQ(sw(c, select("7F20")), 0x9F17);
  Bytes part = tx(c, "A0C0000006");
  EXPECT_EQ(sw_of(part), 0x9000);
  ASSERT_EQ(data_of(part).size(), 6u);
  EXPECT_EQ(get_u16(data_of(part), 4), 0x7F20);
  EXPECT_EQ(sw(c, "A0C0000018"), 0x6717);  // longer than available: 67 + the right length
  EXPECT_EQ(sw(c, "A0C0010017"), 0x6B00);
  EXPECT_EQ(sw(c, "A0C0000017"), 0x9000);  // still pending until another command
  EXPECT_EQ(sw(c, "A0F2000017"), 0x9000);
  EXPECT_EQ(sw(c, "A0C0000017"), 0x6F00);  // STATUS ended it
}

TEST(Status, ReturnsTheCurrentDirectory) {
  auto c = card();
  EXPECT_EQ(sw(c, select("7F10")), 0x9F17);
  EXPECT_EQ(sw(c, select("6F40")), 0x9F0F);
  Bytes r = tx(c, "A0F2000017");
  ASSERT_EQ(sw_of(r), 0x9000);
  EXPECT_EQ(get_u16(data_of(r), 4), 0x7F10);
  EXPECT_EQ(data_of(tx(c, "A0F2000006")).size(), 6u);
  EXPECT_EQ(sw(c, "A0F2000020"), 0x6717);
  EXPECT_EQ(sw(c, "A0F2010017"), 0x6B00);
}
