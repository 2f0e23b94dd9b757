// The two card builders.
#include "cardperso/card/file_ids.hpp"
#include "cardperso/cardsim/card_builders.hpp"
#include "test_card.hpp"

using namespace cardperso;
using namespace cardperso::cardsim;
using namespace cardperso::card;
using namespace cardperso::cardsim::test;

TEST(Builders, BlankSim) {
  const Bytes master = hex("0102030405060708");
  SimCard c(make_blank_sim("8988211320300000028", master));
  EXPECT_EQ(c.image().kind, "sim");
  EXPECT_EQ(to_hex(c.atr()), "3b981100435053494d303031");
  EXPECT_EQ(c.image().files.size(), 3u);
  EXPECT_EQ(sw(c, select("2FE2")), 0x9F0F);
  EXPECT_EQ(tx(c, "A0B000000A"), hex("988812310203000020f8 9000"));
  Bytes mf = select_response(c, "3F00");
  ASSERT_EQ(mf.size(), 23u);
  EXPECT_EQ(mf[16], 1);     // ADM1 only
  EXPECT_EQ(mf[18], 0x03);  // CHV1 not initialised
  EXPECT_EQ(sw(c, verify("0A", "0102030405060708")), 0x9000);
  EXPECT_EQ(sw(c, select("2FE2")), 0x9F0F);
  EXPECT_EQ(sw(c, "A0D6000001 00"), 0x9804);  // update NEV
  EXPECT_EQ(sw(c, select("7F20")), 0x9404);  // nothing else on the card
}

TEST(Builders, RetailerCard) {
  RetailerKeys keys;
  keys.key_version = 7;
  keys.k_ra = SecretBytes(hex("000102030405060708090a0b0c0d0e0f"));
  keys.k_ia = SecretBytes(hex("101112131415161718191a1b1c1d1e1f"));
  keys.k_s = SecretBytes(hex("202122232425262728292a2b2c2d2e2f"));
  keys.k_d = SecretBytes(hex("303132333435363738393a3b3c3d3e3f"));
  SimCard c(make_retailer_card("8949000000000012345", "2468", "13572468", hex("a1a2a3a4a5a6a7a8"), keys));
  EXPECT_EQ(c.image().kind, "retailer");
  EXPECT_EQ(std::string(c.atr().begin() + 4, c.atr().end()), "CPRTL001");
  // Serial readable by anyone.
  EXPECT_EQ(sw(c, select("2FE2")), 0x9F0F);
  Bytes serial = data_of(tx(c, "A0B000000A"));
  auto decoded = decode_iccid(serial);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(*decoded, "8949000000000012345");
  // Key version readable by anyone; the key file by nobody, not even after the PIN.
  EXPECT_EQ(sw(c, "A0A4080004 7F506F02"), 0x9F0F);
  EXPECT_EQ(to_hex(data_of(tx(c, "A0B0000001"))), "07");
  EXPECT_EQ(sw(c, "A0A4080004 7F506F01"), 0x9F0F);
  EXPECT_EQ(sw(c, "A0B0000041"), 0x9804);
  EXPECT_EQ(sw(c, verify("01", "32343638FFFFFFFF")), 0x9000);
  EXPECT_EQ(tx(c, "A0B0000041"), hex("9804"));
  EXPECT_EQ(tx(c, "A0B2010441"), hex("9408"));  // READ RECORD of a transparent EF: no data either
  // The card computes with K_RA instead: FIPS-197 appendix C.1 (K_RA is that appendix's key).
  EXPECT_EQ(sw(c, "A0A4000002 7F50"), 0x9F17);
  EXPECT_EQ(sw(c, "A08A000010 00112233445566778899aabbccddeeff"), 0x9F10);
  EXPECT_EQ(to_hex(tx(c, "A0C0000010")), "69c4e0d86a7b0430d8cdb78070b4c55a9000");
  EXPECT_EQ(sw(c, "A0A4000002 6F01"), 0x9F0F);
  EXPECT_EQ(sw(c, "A0D6000001 08"), 0x9804);  // update ADM
  EXPECT_EQ(sw(c, verify("0A", "a1a2a3a4a5a6a7a8")), 0x9000);
  EXPECT_EQ(sw(c, "A0D6000001 08"), 0x9000);
  // PUK unblocks the PIN.
  for (int i = 0; i < 3; ++i) (void)tx(c, verify("01", kWrong));
  EXPECT_EQ(sw(c, "A02C0000 10 3133353732343638 31313131FFFFFFFF"), 0x9000);
  // A non-digit serial is kept as ASCII.
  SimCard named(make_retailer_card("SHOP-0042", "2468", "13572468", hex("a1a2a3a4a5a6a7a8"), keys));
  EXPECT_EQ(sw(named, select("2FE2")), 0x9F0F);
  EXPECT_EQ(tx(named, "A0B0000009"), concat({view(std::string("SHOP-0042")), hex("9000")}));
}
