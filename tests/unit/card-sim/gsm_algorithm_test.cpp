// RUN GSM ALGORITHM with Milenage test set 1 (3GPP TS 35.207 §4 / TS 35.208 §4).
#include "test_card.hpp"

using namespace cardperso;
using namespace cardperso::cardsim;
using namespace cardperso::cardsim::test;

namespace {
const std::string kRun = "A088000010 23553cbe9637a89d218ae64dae47bf35";
}

TEST(RunGsmAlgorithm, MatchesMilenageTestSet1) {
  SimCard c(test_image());
  EXPECT_EQ(sw(c, verify("01", kPin1)), 0x9000);
  EXPECT_EQ(sw(c, select("7F20")), 0x9F17);
  EXPECT_EQ(sw(c, kRun), 0x9F0C);
  EXPECT_EQ(tx(c, "A0C000000C"), hex("46f8416a eae4be823af9a08b 9000"));
  EXPECT_EQ(tx(c, "A0C0000004"), hex("46f8416a 9000"));
  // An EF of DF_GSM selected: DF_GSM is still the current DF.
  EXPECT_EQ(sw(c, select("6F07")), 0x9F0F);
  EXPECT_EQ(sw(c, kRun + "00"), 0x9F0C);  // with a trailing Le
}

TEST(RunGsmAlgorithm, Refusals) {
  SimCard c(test_image());
  EXPECT_EQ(sw(c, select("7F20")), 0x9F17);
  EXPECT_EQ(sw(c, kRun), 0x9804);  // CHV1 not verified
  EXPECT_EQ(sw(c, verify("01", kPin1)), 0x9000);
  EXPECT_EQ(sw(c, "A088000008 23553cbe9637a89d"), 0x6710);
  EXPECT_EQ(sw(c, "A088010010 23553cbe9637a89d218ae64dae47bf35"), 0x6B00);
  EXPECT_EQ(sw(c, select("7F10")), 0x9F17);
  EXPECT_EQ(sw(c, kRun), 0x9400);  // not in DF_GSM
  EXPECT_EQ(sw(c, select("3F00")), 0x9F17);
  EXPECT_EQ(sw(c, kRun), 0x9400);

  auto img = test_image();
  std::erase_if(img.files, [](const CardFile& f) { return f.path == "3F00/7F20/FF02"; });
  SimCard nokey(img);
  EXPECT_EQ(sw(nokey, verify("01", kPin1)), 0x9000);
  EXPECT_EQ(sw(nokey, select("7F20")), 0x9F17);
  EXPECT_EQ(sw(nokey, kRun), 0x9408);
}

TEST(KeyFiles, KiAndOpcUnreadableEvenWithAdm) {
  SimCard c(test_image());
  EXPECT_EQ(sw(c, verify("01", kPin1)), 0x9000);
  EXPECT_EQ(sw(c, verify("02", kPin2)), 0x9000);
  EXPECT_EQ(sw(c, verify("0A", kAdm)), 0x9000);
  EXPECT_EQ(sw(c, select("7F20")), 0x9F17);
  for (const char* fid : {"FF02", "FF01"}) {
    EXPECT_EQ(sw(c, select(fid)), 0x9F0F);
    EXPECT_EQ(sw(c, "A0B0000010"), 0x9804) << fid;
    EXPECT_EQ(sw(c, "A0B0000001"), 0x9804) << fid;
  }
  // Even a key file created with read ALW in tag 86 stays unreadable.
  auto img = test_image();
  for (auto& f : img.files)
    if (f.path == "3F00/7F20/FF02") f.access.read = 0x0;
  SimCard open_ac(img);
  EXPECT_EQ(sw(open_ac, "A0A4080004 7F20FF02"), 0x9F0F);
  EXPECT_EQ(sw(open_ac, "A0B0000010"), 0x9804);
  // Writing Ki under ADM works and changes the algorithm's answer.
  EXPECT_EQ(sw(c, select("FF02")), 0x9F0F);
  EXPECT_EQ(sw(c, "A0D6000010 00112233445566778899aabbccddeeff"), 0x9000);
  EXPECT_EQ(sw(c, "A088000010 23553cbe9637a89d218ae64dae47bf35"), 0x9F0C);
  EXPECT_NE(data_of(tx(c, "A0C000000C")), hex("46f8416a eae4be823af9a08b"));
}
