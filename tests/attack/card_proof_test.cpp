// Attack: a card that merely claims a stock ICCID (docs/security.md). The ICCID in P1 is whatever the
// card in the reader says; a counterfeit or sniffing card that copies a stock card's EF_ICCID would,
// without a check, be sent that card's script: its master code, the new issuer code, Ki and OPc.
// Here two such cards go into the real terminal, through the real programs and PC/SC, before the
// real card: one made with another batch secret (it answers CARD PROOF, wrongly), one with no card
// key at all (it cannot answer). Both must be refused before any code leaves the ADS, and no APDU
// either of them received may hold the stock card's master code, or the issuer code, Ki or OPc the
// real card gets right after.
#include <algorithm>
#include <filesystem>

#include "cardperso/cardsim/card_image.hpp"
#include "personalisation_fixture.hpp"
#include "security_row.hpp"

using namespace cardperso;
using namespace cardperso::attack;
using namespace cardperso::e2e;
using namespace std::chrono_literals;

namespace {

bool contains(const Bytes& haystack, ByteView needle) {
  return !needle.empty() && std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end()) != haystack.end();
}

class CardProof : public PersonalisationFixture {
 protected:
  void TearDown() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    write_security_row(SecurityRow{attack_, "card reader (STE)", expected_, observed_},
                       std::string(info->test_suite_name()) + info->name(), HasFailure());
    PersonalisationFixture::TearDown();
  }
  std::string attack_, expected_;
  std::vector<std::string> observed_;
};

TEST_F(CardProof, ACardClaimingAStockIccidWithoutItsKeyGetsNothing) {
  attack_ = "a card that copies a stock card's ICCID without its card key (made with another batch secret, or "
            "with no card key) is put in the terminal before the real card";
  expected_ = "refused before any code leaves the ADS; no APDU to it holds the master code, issuer code, Ki or OPc";
  const std::string iccid = standard_stock(1).at(0);
  const std::string real_image = card_image("cards", iccid);
  // Counterfeit 1: the same ICCID from another batch secret (its own master code and card key).
  const auto copied = make_blank_cards(file("other.secret"), "fakes", kIccidPrefix, 1, 1);
  ASSERT_EQ(copied, std::vector<std::string>{iccid});
  const std::string wrong_key = card_image("fakes", iccid);
  // Counterfeit 2: the stock card's ICCID and nothing to answer the challenge with.
  std::filesystem::create_directories(file("keyless"));
  const std::string keyless = file("keyless/" + iccid + ".json");
  {
    auto image = load(wrong_key);
    std::erase_if(image.files, [](const cardsim::CardFile& f) { return f.path == "3F00/000C"; });
    ASSERT_TRUE(cardsim::save_image(keyless, image));
  }

  // Three customers; the keypad: the retailer PIN, the clerk's OK for the counterfeit that shows a
  // check (the keyless one is refused before any display), then the real card's OK, PIN, PIN, PUK.
  std::vector<std::string> keypad = {kPin, "ok"};
  for (const auto& k : new_card_keys()) keypad.push_back(k);
  ASSERT_TRUE(start_personalisation({"--customer", customer_file("Alice Example", "1990-02-28"), "--customer",
                                     customer_file("Bob Example", "1980-01-01"), "--customer",
                                     customer_file("Carol Example", "1970-03-03")},
                                    keypad));
  remove_retailer_card();
  for (const auto& [nth, image] : {std::pair{1, wrong_key}, std::pair{2, keyless}}) {
    auto* fake = insert_customer_card(image, static_cast<std::size_t>(nth));
    ASSERT_NE(fake, nullptr);
    ASSERT_TRUE(wait_display_count("Card refused: card " + iccid + " did not prove it is the issuer's card " + iccid +
                                       "; keep it apart and report it to the issuer",
                                   static_cast<std::size_t>(nth), 60s))
        << display_text();
    pull(fake);
  }
  auto* real = insert_customer_card(real_image, 3);
  ASSERT_NE(real, nullptr);
  ASSERT_TRUE(wait_display("Card personalised: MSISDN \\d+$", 60s)) << display_text();
  pull(real);
  expect_session_completed();

  // The counterfeits got the ICCID read and the challenge, nothing else.
  const SecretBytes master = master_code(file("batch.secret"), iccid);
  const KeysFromStore keys = keys_of(iccid, 1);
  const SecretBytes issuer = opening_code(iccid, true);
  ASSERT_EQ(keys.ki.size(), 16u);
  std::size_t scanned = 0;
  for (int connection : {1, 2}) {
    const auto apdus = apdus_of(connection);
    EXPECT_FALSE(apdus.empty());
    EXPECT_TRUE(only_iccid_read(apdus)) << "counterfeit " << connection << " got more than the ICCID read and a challenge";
    for (const auto& a : apdus) {
      ++scanned;
      for (const auto& [what, secret] : {std::pair{"master code", master.view()}, std::pair{"issuer code", issuer.view()},
                                         std::pair{"Ki", keys.ki.view()}, std::pair{"OPc", keys.opc.view()}}) {
        EXPECT_FALSE(contains(a.command, secret)) << what << " sent to counterfeit " << connection;
        EXPECT_FALSE(contains(a.response, secret)) << what << " in counterfeit " << connection << "'s answers";
      }
    }
  }
  // The real card got them (the scan finds what is there): its script opens with the master code.
  const auto real_script = script_apdus(apdus_of(3));
  ASSERT_FALSE(real_script.empty());
  EXPECT_TRUE(contains(real_script.front().command, master.view()));
  EXPECT_EQ(card_row(iccid).state, "personalised");
  EXPECT_EQ(card_row(iccid).attempts, 1);  // the counterfeits cost the real card nothing
  EXPECT_EQ(count("SELECT count(*) FROM audit_log WHERE event = 'card_proof_failed' AND subject = ?1", {iccid}), 2);
  EXPECT_EQ(count("SELECT count(*) FROM number_allocations"), 2);  // the real card's IMSI and MSISDN only
  expect_no_number_lost();
  observed_ = {"both counterfeits refused (\"did not prove it is the issuer's card\"), audited card_proof_failed twice",
               std::to_string(scanned) + " APDUs to them scanned: no master code, issuer code, Ki or OPc",
               "the real card then personalised on its first attempt"};
}

}  // namespace
