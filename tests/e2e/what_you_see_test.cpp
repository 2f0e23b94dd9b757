// What the terminal shows is what it writes (docs/security.md, "What you see is what you sign").
// The three programs through PC/SC: after the STE reads the ICCID, the ADS sends it (sealed under
// SK_S, out of the shop PC's reach) the customer's name as it stored it, the ID's kind and last
// four characters and the card; the STE shows them and waits for OK or Cancel on its own keypad.
//   a. the display shows the stored name and the card before any write, and the receipt names the same;
//   b. Cancel on the keypad: the card stays byte for byte as it was, nothing is recorded, audited once;
//   c. a shop PC that shows the clerk one customer and sends another cannot make the terminal show
//      the first: the terminal shows the one sent, the clerk sees the difference and cancels.
#include <regex>

#include "personalisation_fixture.hpp"
#include "security_row.hpp"

using namespace cardperso;
using namespace cardperso::e2e;
using namespace std::chrono_literals;

namespace {

class WhatYouSee : public PersonalisationFixture {
 protected:
  // The session: dtd-agent with one customer file, the retailer card out, `image` in, the STE's
  // keypad: the retailer PIN, then `keys`.
  cardperso::testing::CardSimProcess* visit(const std::string& customer, const std::string& image,
                                 const std::vector<std::string>& keys) {
    std::vector<std::string> keypad = {kPin};
    keypad.insert(keypad.end(), keys.begin(), keys.end());
    if (!start_personalisation({"--customer", customer}, keypad)) {
      ADD_FAILURE() << "the personalisation did not start";
      return nullptr;
    }
    remove_retailer_card();
    return insert_customer_card(image, 1);
  }

  // The lines the STE showed from its check of the card, in order.
  std::vector<std::string> check_lines() const {
    std::vector<std::string> out;
    for (const auto& line : display())
      if (line.rfind("Check: ", 0) == 0) out.push_back(line);
    return out;
  }

  std::int64_t audited(const std::string& event, const std::string& iccid) {
    return count("SELECT count(*) FROM audit_log WHERE event = ?1 AND subject = ?2", {event, iccid});
  }

  // Nothing moved for this card: its image as before, only the ICCID read and the card's proof asked,
  // still blank with no attempt, no number, no record, no receipt.
  void expect_untouched(const std::string& iccid, const std::string& image, const std::string& before) {
    EXPECT_EQ(image_text(image), before) << "the card image changed";
    const auto apdus = apdus_of(1);
    EXPECT_TRUE(only_iccid_read(apdus)) << "the card got more than the ICCID read and the card proof";
    EXPECT_EQ(std::count_if(apdus.begin(), apdus.end(), [](const TappedApdu& a) { return a.command[1] == 0x86; }), 1)
        << "the card was not asked for its proof";
    const CardRow row = card_row(iccid);
    EXPECT_EQ(row.state, "blank");
    EXPECT_EQ(row.attempts, 0);
    EXPECT_TRUE(records(iccid).empty());
    EXPECT_EQ(count("SELECT count(*) FROM number_allocations"), 0);
    EXPECT_EQ(count("SELECT count(*) FROM subscribers"), 0);
    expect_no_number_lost();
  }
};

// a.
TEST_F(WhatYouSee, TheDisplayShowsTheStoredCustomerAndTheCardBeforeWriting) {
  const std::string iccid = standard_stock(1).at(0);
  const std::string image = card_image("cards", iccid);
  auto* card = visit(customer_file("Zoë Ångström-Li", "1990-02-28"), image, new_card_keys());
  ASSERT_NE(card, nullptr);
  auto done = wait_display("Card personalised: MSISDN (\\d+)$", 60s);
  ASSERT_TRUE(done) << display_text();
  pull(card);
  expect_session_completed();

  // The check came before the PINs and before the first write.
  expect_display_in_order({"Insert customer card", "Check: customer Zoë Ångström-Li", "Check: card " + iccid,
                           "Press OK to personalise this card, or Cancel", "Customer: enter new PIN",
                           "Personalising card", "Card personalised: MSISDN " + (*done)[1]});
  const auto lines = check_lines();
  ASSERT_EQ(lines.size(), 3u) << display_text();
  // The ID: its kind and last four characters only (the fixture's numbers are X1000000, X1000001, ...).
  EXPECT_TRUE(std::regex_match(lines[1], std::regex("Check: ID passport ending 00\\d\\d"))) << lines[1];
  // The name shown is the one the ADS stored: the receipt it made from the sealed record says the same.
  const std::string receipt = read_text_file(receipt_dir_ + "/receipt-" + iccid + ".txt");
  EXPECT_NE(receipt.find("Customer name: Zoë Ångström-Li\n"), std::string::npos) << receipt;
  // The first APDU after the check is the script's VERIFY ADM1: nothing was written before the OK.
  const auto apdus = apdus_of(1);
  const auto proof = std::find_if(apdus.begin(), apdus.end(), [](const TappedApdu& a) { return a.command[1] == 0x86; });
  ASSERT_NE(proof, apdus.end());
  const auto first_write = std::find_if(apdus.begin(), apdus.end(), [](const TappedApdu& a) {
    return a.command[1] == 0x20 || a.command[1] == 0xD6 || a.command[1] == 0xDC || a.command[1] == 0xE0;
  });
  ASSERT_NE(first_write, apdus.end());
  EXPECT_LT(proof - apdus.begin(), first_write - apdus.begin());
  EXPECT_EQ(card_row(iccid).state, "personalised");
}

// b.
TEST_F(WhatYouSee, CancelOnTheKeypadLeavesTheCardByteIdentical) {
  const std::string iccid = standard_stock(1).at(0);
  const std::string image = card_image("cards", iccid);
  const std::string before = image_text(image);
  auto* card = visit(customer_file("Alice Example", "1990-02-28"), image, {"cancel"});
  ASSERT_NE(card, nullptr);
  auto refused = wait_display("Card refused: (.*)$", 60s);
  ASSERT_TRUE(refused) << display_text();
  EXPECT_EQ((*refused)[1], "cancelled on the terminal's keypad; nothing was written");
  pull(card);
  expect_session_completed();
  expect_display_in_order({"Check: customer Alice Example", "Cancelled: nothing written", "Card refused: "
                           "cancelled on the terminal's keypad; nothing was written"});
  EXPECT_EQ(display_count("Customer: enter new PIN"), 0u);
  expect_untouched(iccid, image, before);
  EXPECT_EQ(audited("card_cancelled", iccid), 1);
}

// c.
TEST_F(WhatYouSee, AShopPcShowingOneCustomerAndSendingAnotherCannotChooseTheDisplay) {
  const std::string iccid = standard_stock(1).at(0);
  const std::string image = card_image("cards", iccid);
  const std::string before = image_text(image);
  // The clerk typed Alice and the shop PC's screen shows Alice; malware on the PC sends Mallory.
  const std::string shown_to_clerk = "Alice Example";
  const std::string sent = customer_file("Mallory Swap", "1985-07-01");
  // The clerk answers OK only when the terminal shows the customer standing at the counter.
  auto* card = visit(sent, image, {"cancel"});
  ASSERT_NE(card, nullptr);
  ASSERT_TRUE(wait_display("Card refused: ", 60s)) << display_text();
  pull(card);
  expect_session_completed();
  const auto lines = check_lines();
  ASSERT_FALSE(lines.empty()) << display_text();
  EXPECT_EQ(lines.front(), "Check: customer Mallory Swap");  // what the ADS holds, not what the PC showed
  for (const auto& line : display()) EXPECT_EQ(line.find(shown_to_clerk), std::string::npos) << line;
  EXPECT_NE(lines.front(), "Check: customer " + shown_to_clerk);  // so the clerk's cancel follows
  expect_untouched(iccid, image, before);
  EXPECT_EQ(audited("card_cancelled", iccid), 1);
  attack::write_security_row(
      attack::SecurityRow{"malware on the shop PC shows the clerk one customer (Alice) and sends the ADS another "
                          "(Mallory)",
                          "shop PC (DTD)",
                          "the terminal shows the customer the ADS will record, before any write; the clerk's "
                          "cancel on its keypad writes nothing",
                          {"the terminal showed \"" + lines.front() + "\", never Alice",
                           "after the clerk's cancel: card image byte-identical, only the ICCID read and CARD PROOF, no "
                           "number, no record, card_cancelled audited once"}},
      "WhatYouSeeShopPcSwapsTheCustomer", HasFailure());
}

}  // namespace
