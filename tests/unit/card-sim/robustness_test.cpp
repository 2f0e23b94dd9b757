// Random and truncated APDUs: every one ends in a status word, and the card stays a valid image.
#include <random>

#include "cardperso/cardsim/card_builders.hpp"
#include "mkcards_show.hpp"
#include "test_card.hpp"

using namespace cardperso;
using namespace cardperso::cardsim;
using namespace cardperso::cardsim::test;

namespace {
const char* const kTemplates[] = {
    "A0A40000023F00", "A0A40000027F20", "A0A40000027F10", "A0A40000026F07", "A0A40000026F39",
    "A0A40000026F40", "A0A40800047F206F39", "A0A40900025F3C", "A0C0000017", "A0C000000F", "A0F2000017",
    "A0B0000009", "A0B0000101", "A0D6000002AABB", "A0B2010403", "A0B2000203", "A0DC000303AABBCC",
    "A0B2020404", "A0DC010404AABBCCDD", "A0040000", "A0440000", "A0200001083132333435363738",
    "A02C00001031323334353637383132333435363738", "A088000010000102030405060708090a0b0c0d0e0f",
    "A0E000000A62088202412183026F55", "A0E000000E620C82054221000403830231F0",
    "A0E000000E620C820546210003028302AB01", "A0E0000008620682027821830206", "A0D6000008FFFFFFFFFFFFFFFF",
};
}  // namespace

TEST(Robustness, RandomApdusAlwaysGetAStatusWord) {
  std::mt19937 rng(20240611);
  const std::uint8_t ins[] = {0xA4, 0xF2, 0xC0, 0xB0, 0xD6, 0xB2, 0xDC, 0x04, 0x44, 0x20,
                              0x24, 0x26, 0x28, 0x2C, 0xE0, 0x88, 0xFA, 0x12, 0x00};
  SimCard c(test_image());
  std::size_t answered = 0;
  for (int i = 0; i < 20000; ++i) {
    if (i % 500 == 0) {
      c.power_on();
      ASSERT_EQ(sw(c, verify("0A", kAdm)), 0x9000);  // ADM open: CREATE/UPDATE paths get exercised
    }
    if (rng() % 2 == 0) {  // a valid command with one byte changed, or as is
      Bytes apdu = hex(kTemplates[rng() % std::size(kTemplates)]);
      if (rng() % 2 == 0) apdu[rng() % apdu.size()] = static_cast<std::uint8_t>(rng());
      Bytes r = c.transmit(apdu);
      ASSERT_GE(r.size(), 2u) << to_hex(apdu);
      if (r[r.size() - 2] == 0x90 || r[r.size() - 2] == 0x9F) ++answered;
      continue;
    }
    Bytes apdu{0xA0, ins[rng() % std::size(ins)], static_cast<std::uint8_t>(rng() % 4 == 0 ? rng() : rng() % 5),
               static_cast<std::uint8_t>(rng() % 4 == 0 ? rng() : rng() % 5)};
    const std::size_t body = rng() % 40;
    apdu.push_back(static_cast<std::uint8_t>(rng() % 3 == 0 ? rng() : body));
    for (std::size_t k = 0; k < body; ++k) apdu.push_back(static_cast<std::uint8_t>(rng()));
    if (apdu[1] == 0xE0 && body > 2) {  // give CREATE FILE a plausible template now and then
      apdu[5] = 0x62;
      apdu[6] = static_cast<std::uint8_t>(body - 2);
    }
    if (rng() % 7 == 0) apdu.resize(rng() % apdu.size());  // truncated anywhere
    Bytes r = c.transmit(apdu);
    ASSERT_GE(r.size(), 2u);
    ASSERT_LE(r.size(), 258u);
    const std::uint8_t sw1 = r[r.size() - 2];
    ASSERT_TRUE(sw1 == 0x90 || sw1 == 0x9F || sw1 == 0x94 || sw1 == 0x98 || sw1 == 0x67 || sw1 == 0x6B ||
                sw1 == 0x6D || sw1 == 0x6E || sw1 == 0x6F || sw1 == 0x6A)
        << to_hex(apdu) << " -> " << to_hex(r);
    if (sw1 == 0x90 || sw1 == 0x9F) ++answered;
  }
  EXPECT_GT(answered, 100u);
  // Whatever happened, the image is still one the loader accepts.
  auto back = image_from_json(image_to_json(c.image()));
  EXPECT_TRUE(back) << (back ? "" : back.error().message);
}

TEST(Show, NeverPrintsCodesOrKeys) {
  RetailerKeys keys;
  keys.k_ra = SecretBytes(hex("a0a1a2a3a4a5a6a7a8a9aaabacadaeaf"));
  keys.k_ia = keys.k_ra;
  keys.k_s = keys.k_ra;
  keys.k_d = keys.k_ra;
  const std::string retailer =
      describe_image(make_retailer_card("12345", "2468", "13572468", hex("c1c2c3c4c5c6c7c8"), keys));
  EXPECT_EQ(retailer.find("a0a1a2a3"), std::string::npos);
  EXPECT_EQ(retailer.find("c1c2c3c4"), std::string::npos);
  EXPECT_EQ(retailer.find("32343638"), std::string::npos);  // PIN "2468" in ASCII
  EXPECT_NE(retailer.find("(secret, 65 bytes)"), std::string::npos);
  EXPECT_NE(retailer.find("2143f5"), std::string::npos);  // the serial is shown

  const std::string sim = describe_image(test_image());
  EXPECT_EQ(sim.find("465b5ce8"), std::string::npos);  // Ki
  EXPECT_EQ(sim.find("cd63cb71"), std::string::npos);  // OPc
  EXPECT_EQ(sim.find("31323334"), std::string::npos);  // PIN
  EXPECT_NE(sim.find("080910100000214365"), std::string::npos);  // IMSI is not secret
}
