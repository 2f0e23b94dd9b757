// The blank SIM's card key and CARD PROOF (docs/cards.md §2.3): the formulas against answers computed
// independently in Python, and the virtual card's command, its refusals and the key file's protection.
#include <stdexcept>

#include "cardperso/card/card_key.hpp"
#include "cardperso/card/master_code.hpp"
#include "cardperso/cardsim/card_builders.hpp"
#include "mkcards_show.hpp"
#include "test_card.hpp"

using namespace cardperso;
using namespace cardperso::cardsim;
using namespace cardperso::cardsim::test;

namespace {
const char* const kSecret = "000102030405060708090a0b0c0d0e0f";
const char* const kIccid = "8988211000000000011";
const char* const kOtherIccid = "8988211320300000028";
const char* const kChallenge = "00112233445566778899aabbccddeeff";
// Python (hmac, hashlib; python3-cryptography for AES), see docs/cards.md §2.3.
const char* const kKey = "33bc3740126afa13472e455e7e7d23e1";
const char* const kOtherKey = "1f6635a45839a2990291d58206305c27";
const char* const kProof = "f2bae2d2b7b77af07bc08cfde7aa7392";
const char* const kOtherProof = "5b63be947efc935bdf1e83a55b060bf0";

std::string card_proof_command(std::string_view challenge = kChallenge) {
  return "A086000010" + std::string(challenge);
}
}  // namespace

TEST(CardKey, KnownAnswer) {
  // hmac.new(secret, b"cardperso/v1/card-key\0" + iccid, hashlib.sha256).hexdigest()[:32]
  const Bytes secret = hex(kSecret);
  EXPECT_EQ(to_hex(card::derive_card_key(secret, kIccid).view()), kKey);
  EXPECT_EQ(to_hex(card::derive_card_key(secret, kOtherIccid).view()), kOtherKey);
}

TEST(CardKey, ItsOwnLabelKeepsItApartFromTheMasterCode) {
  const Bytes secret = hex(kSecret);
  for (const char* iccid : {kIccid, kOtherIccid}) {
    const auto key = card::derive_card_key(secret, iccid);
    const auto master = card::derive_master_code(secret, iccid);
    ASSERT_EQ(key.size(), card::kCardKeySize);
    ASSERT_EQ(master.size(), 8u);
    EXPECT_NE(to_hex(key.view().first(8)), to_hex(master.view()));
  }
}

TEST(CardKey, ProofKnownAnswer) {
  // AES-128-ECB of one block: Cipher(algorithms.AES(key), modes.ECB()).encryptor().update(challenge)
  const auto proof = card::card_proof(hex(kKey), hex(kChallenge));
  EXPECT_EQ(to_hex(proof), kProof);
  EXPECT_EQ(to_hex(card::card_proof(hex(kOtherKey), hex(kChallenge))), kOtherProof);
  EXPECT_THROW(card::card_proof(hex(kKey), hex("0011")), std::invalid_argument);
  EXPECT_THROW(card::card_proof(hex("0011"), hex(kChallenge)), std::invalid_argument);
}

TEST(CardProof, StockSimAnswersTheChallenge) {
  SimCard c(make_stock_sim(kIccid, hex(kSecret)));
  EXPECT_EQ(tx(c, card_proof_command()), hex("9F10"));
  EXPECT_FALSE(c.state_changed());
  EXPECT_EQ(to_hex(tx(c, "A0C0000010")), std::string(kProof) + "9000");
  // The answer lives until the next command other than GET RESPONSE.
  EXPECT_EQ(sw(c, "A0F2000017"), 0x9000);
  EXPECT_EQ(sw(c, "A0C0000010"), 0x6F00);
  // A trailing Le byte (case 4 from an ISO stack) is ignored.
  EXPECT_EQ(tx(c, card_proof_command() + "10"), hex("9F10"));
  EXPECT_EQ(to_hex(tx(c, "A0C0000010")), std::string(kProof) + "9000");
}

TEST(CardProof, StockSimHoldsBothDerivedValues) {
  const Bytes secret = hex(kSecret);
  SimCard c(make_stock_sim(kIccid, secret));
  // ADM1 is the master code, as in make_blank_sim.
  EXPECT_EQ(sw(c, verify("0A", to_hex(card::derive_master_code(secret, kIccid).view()))), 0x9000);
  const CardFile* key = nullptr;
  for (const auto& f : c.image().files)
    if (f.path == "3F00/000C") key = &f;
  ASSERT_NE(key, nullptr);
  EXPECT_EQ(to_hex(key->data), kKey);
  EXPECT_EQ(key->access.read, 0xF);
  EXPECT_EQ(key->access.update, 0xF);
  // An 18-digit ICCID gets its Luhn digit before the formulas see it, as the issuer reads it.
  SimCard short_iccid(make_stock_sim("898821100000000001", secret));
  EXPECT_EQ(tx(short_iccid, card_proof_command()), hex("9F10"));
  EXPECT_EQ(to_hex(tx(short_iccid, "A0C0000010")), std::string(kProof) + "9000");
  EXPECT_THROW(make_stock_sim(kIccid, hex("0001")), std::invalid_argument);
}

TEST(CardProof, TwoCardsOfOneBatchAnswerDifferently) {
  SimCard a(make_stock_sim(kIccid, hex(kSecret)));
  SimCard b(make_stock_sim(kOtherIccid, hex(kSecret)));
  EXPECT_EQ(sw(a, card_proof_command()), 0x9F10);
  EXPECT_EQ(sw(b, card_proof_command()), 0x9F10);
  const Bytes pa = tx(a, "A0C0000010");
  const Bytes pb = tx(b, "A0C0000010");
  EXPECT_EQ(to_hex(pa), std::string(kProof) + "9000");
  EXPECT_EQ(to_hex(pb), std::string(kOtherProof) + "9000");
  EXPECT_NE(pa, pb);
}

TEST(CardProof, RefusesWrongLengthAndParameters) {
  SimCard c(make_stock_sim(kIccid, hex(kSecret)));
  EXPECT_EQ(sw(c, "A08600000F 00112233445566778899aabbccddee"), 0x6710);
  EXPECT_EQ(sw(c, "A086000020 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"), 0x6710);
  EXPECT_EQ(sw(c, "A086010010" + std::string(kChallenge)), 0x6B00);
  EXPECT_EQ(sw(c, "A086000110" + std::string(kChallenge)), 0x6B00);
  EXPECT_EQ(sw(c, "A086000010 0011"), 0x6700);  // P3 and the data disagree
  EXPECT_EQ(sw(c, "A0C0000010"), 0x6F00);       // nothing pending after a refusal
}

TEST(CardProof, CardWithoutKeyFileIsNotFound) {
  // What a pySim-programmed or foreign card looks like: no 000C.
  const Bytes secret = hex(kSecret);
  SimCard c(make_blank_sim(kIccid, card::derive_master_code(secret, kIccid).view()));
  EXPECT_EQ(c.image().files.size(), 3u);
  EXPECT_EQ(sw(c, card_proof_command()), 0x9404);
  EXPECT_EQ(sw(c, "A0C0000010"), 0x6F00);
  EXPECT_EQ(sw(c, select("000C")), 0x9404);
}

TEST(CardProof, KeyFileOfTheWrongSizeIsInconsistent) {
  CardImage image = make_stock_sim(kIccid, hex(kSecret));
  for (auto& f : image.files)
    if (f.path == "3F00/000C") f.data.pop_back();
  SimCard c(std::move(image));
  EXPECT_EQ(sw(c, card_proof_command()), 0x9408);
}

TEST(CardProof, WorksWhateverIsSelectedOrVerified) {
  // No CHV1 and no current DF: the issuer asks before anything else, and after personalisation too.
  CardImage personalised = test_image();
  personalised.files.push_back(ef("3F00/000C", "FFF0AA", kKey));
  SimCard c(std::move(personalised));
  EXPECT_EQ(sw(c, "A0A4080004 7F206F07"), 0x9F0F);  // DF_GSM current, an EF selected, CHV1 not verified
  EXPECT_EQ(tx(c, card_proof_command()), hex("9F10"));
  EXPECT_EQ(to_hex(tx(c, "A0C0000010")), std::string(kProof) + "9000");
  EXPECT_EQ(sw(c, verify("01", kPin1)), 0x9000);
  EXPECT_EQ(sw(c, card_proof_command()), 0x9F10);
  EXPECT_EQ(to_hex(tx(c, "A0C0000010")), std::string(kProof) + "9000");
}

TEST(CardProof, KeyFileIsNeverReadNorWritten) {
  const Bytes secret = hex(kSecret);
  const std::string master = to_hex(card::derive_master_code(secret, kIccid).view());
  SimCard c(make_stock_sim(kIccid, secret));
  EXPECT_EQ(sw(c, select("000C")), 0x9F0F);
  EXPECT_EQ(sw(c, "A0B0000010"), 0x9804);
  EXPECT_EQ(sw(c, "A0B0000001"), 0x9804);
  EXPECT_EQ(sw(c, "A0B2010410"), 0x9408);  // READ RECORD of a transparent EF: no data either
  EXPECT_EQ(sw(c, "A0D6000010" + std::string(16 * 2, '0')), 0x9804);
  // Not with the master code either.
  EXPECT_EQ(sw(c, verify("0A", master)), 0x9000);
  EXPECT_EQ(sw(c, select("000C")), 0x9F0F);
  EXPECT_EQ(sw(c, "A0B0000010"), 0x9804);
  EXPECT_EQ(sw(c, "A0D6000010" + std::string(16 * 2, '0')), 0x9804);
  EXPECT_EQ(sw(c, "A0D6000001 00"), 0x9804);
  // An image whose access bytes say ALW/ADM changes nothing: the card knows 000C by its FID.
  CardImage open = make_stock_sim(kIccid, secret);
  for (auto& f : open.files)
    if (f.path == "3F00/000C") f.access.read = 0x0, f.access.update = 0xA;
  SimCard d(std::move(open));
  EXPECT_EQ(sw(d, verify("0A", master)), 0x9000);
  EXPECT_EQ(sw(d, select("000C")), 0x9F0F);
  EXPECT_EQ(sw(d, "A0B0000010"), 0x9804);
  EXPECT_EQ(sw(d, "A0D6000010" + std::string(16 * 2, '0')), 0x9804);
  // The key is untouched: the proof is still the known answer.
  EXPECT_EQ(sw(d, card_proof_command()), 0x9F10);
  EXPECT_EQ(to_hex(tx(d, "A0C0000010")), std::string(kProof) + "9000");
}

TEST(CardProof, ShowNeverPrintsTheKey) {
  const std::string shown = describe_image(make_stock_sim(kIccid, hex(kSecret)));
  EXPECT_EQ(shown.find(std::string(kKey).substr(0, 8)), std::string::npos);
  EXPECT_EQ(shown.find("c46919df"), std::string::npos);  // nor the master code
  EXPECT_NE(shown.find("000C EF transparent, 16 bytes, access fff0aa: (card key, 16 bytes)"), std::string::npos);
}

TEST(CardProof, KeySurvivesTheImageFile) {
  // The key is just a file of the card image (docs/cards.md §3): a saved and reloaded card still proves itself.
  const std::string json = image_to_json(make_stock_sim(kIccid, hex(kSecret)));
  EXPECT_NE(json.find("\"3F00/000C\""), std::string::npos);
  auto image = image_from_json(json);
  ASSERT_TRUE(image);
  SimCard c(std::move(*image));
  EXPECT_EQ(tx(c, card_proof_command()), hex("9F10"));
  EXPECT_EQ(to_hex(tx(c, "A0C0000010")), std::string(kProof) + "9000");
}
