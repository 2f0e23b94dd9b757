// Sabotage by a broken line (docs/security.md): a relay between DTD and ADS.
//   - BrokenDelivery: the delivery of one blank card's script is broken ten times in a row — the P2
//     frame cut after its header, cut mid-payload, cut one byte short (each time the link then
//     closed), or delivered with a flipped ciphertext bit — then the eleventh attempt passes. The
//     terminal never runs a script it did not receive whole and authentic, so the card is never
//     touched: nothing may be held against it. Expected: personalised on the clean attempt, its ADM
//     tries (read from the card image) as they were, never spoiled, failures that count 0.
//   - LostOutcome: the relay drops everything after the commit of a card (P4 to both ends and the
//     receipt); the shop gives up and tries the same card for the same customer again. Expected: the
//     same MSISDN and the same receipt (marked re-issued), audited once as receipt_reissued, no
//     number moved, no script sent again; `adsctl card receipt` prints it too.
#include <filesystem>
#include <fstream>
#include <mutex>

#include "personalisation_fixture.hpp"
#include "relay.hpp"
#include "security_row.hpp"

using namespace cardperso;
using namespace cardperso::attack;
using namespace cardperso::e2e;
using namespace std::chrono_literals;

namespace {

constexpr std::uint8_t kP2 = 0x24, kP4 = 0x26, kReceipt = 0x27;
using CardSim = cardperso::testing::CardSimProcess;

// A shop whose DTD reaches the ADS through a relay (`on_frame` decides), one attempt at a time.
class ShopThroughRelay : public PersonalisationFixture {
 protected:
  void TearDown() override {
    write_security_row(SecurityRow{attack_, "DTD↔ADS", expected_, observed_}, row_name_, HasFailure());
    relay_.reset();
    PersonalisationFixture::TearDown();
  }
  virtual void on_frame(const RelayedFrame& f, RelayOutput& out) = 0;

  bool open_ads() {
    const int ads_port = start_ads({"--profile", profile_path_});
    if (ads_port <= 0) return false;
    relay_ = std::make_unique<FrameProxy>(ads_port, [this](const RelayedFrame& f, RelayOutput& out) { on_frame(f, out); });
    return true;
  }

  // One attempt: the DTD (through the relay) with the customer, the retailer card in, the STE, then
  // the customer card (a new card-sim the first time, the same one reinserted after).
  CardSim* attempt(int n, const std::string& customer, const std::string& image, CardSim* customer_sim) {
    start_visit(relay_->port(), customer, n == 0);
    remove_retailer_card();
    if (customer_sim == nullptr) return insert_customer_card(image, 1);
    EXPECT_TRUE(wait_display_count("Insert customer card", 1, 30000ms)) << display_text();
    reinsert(customer_sim);
    return customer_sim;
  }

  // The shop gives up on an attempt: the card out (and seen out by pcscd), the programs stopped.
  void give_up(CardSim* card) {
    if (ste().running()) ste().kill_now();
    pull(card);
    auto absent = pcsc().wait_for_card_absent(cardperso::testing::kReader0, std::chrono::seconds(5));
    ASSERT_TRUE(absent.ok() && *absent) << "pcscd still sees a card after the customer card was pulled";
    if (dtd_) dtd_->kill_now();
    ASSERT_TRUE(wait_no_open_session(15s));
  }

  std::unique_ptr<FrameProxy> relay_;
  std::mutex mutex_;
  std::string attack_, expected_, row_name_;
  std::vector<std::string> observed_;
  void observe(std::string what) { observed_.push_back(std::move(what)); }
};

class BrokenDelivery : public ShopThroughRelay {
 protected:
  static constexpr int kBroken = 10;
  void SetUp() override {
    ShopThroughRelay::SetUp();
    attack_ = "the delivery of one blank card's script (P2) broken 10 times in a row — cut after the header, 100 "
              "bytes in, one byte short (link closed), or a ciphertext bit flipped — then a clean attempt";
    expected_ = "personalised on the clean attempt; its ADM tries untouched (card image); never spoiled; no failure "
                "held against it";
    row_name_ = "BrokenDeliveryTenTimesThenClean";
  }

  // Breaks the first kBroken P2 frames, four ways in turn; everything else passes.
  void on_frame(const RelayedFrame& f, RelayOutput& out) override {
    std::lock_guard lock(mutex_);
    if (!(f.direction == Direction::ToClient && f.channel() == 1 && f.sealed() && f.type() == kP2) ||
        broken_ >= kBroken) {
      out.forward(f.bytes);
      return;
    }
    const std::size_t header = 16;
    switch (broken_++ % 4) {
      case 0:
        out.forward(Bytes(f.bytes.begin(), f.bytes.begin() + header));
        out.close();
        how_.push_back("cut after the header");
        break;
      case 1:
        out.forward(Bytes(f.bytes.begin(), f.bytes.begin() + header + 100));
        out.close();
        how_.push_back("cut 100 bytes into the payload");
        break;
      case 2:
        out.forward(Bytes(f.bytes.begin(), f.bytes.end() - 1));
        out.close();
        how_.push_back("cut one byte short");
        break;
      default: {
        Bytes corrupted = f.bytes;
        corrupted[header + 8 + 100] ^= 0x01;  // a ciphertext byte
        out.forward(corrupted);
        how_.push_back("one ciphertext bit flipped");
        break;
      }
    }
  }

  int broken_ = 0;
  std::vector<std::string> how_;
};

class LostOutcome : public ShopThroughRelay {
 protected:
  void SetUp() override {
    ShopThroughRelay::SetUp();
    attack_ = "everything after a card's commit dropped (P4 to the STE and the DTD, the receipt); the shop retries "
              "the same card for the same customer";
    expected_ = "the same MSISDN and receipt again (marked re-issued), audited once; no number moves; no script";
    row_name_ = "LostOutcomeRetry";
  }
  // Drops the first session's P4s and receipt.
  void on_frame(const RelayedFrame& f, RelayOutput& out) override {
    std::lock_guard lock(mutex_);
    const bool outcome = f.direction == Direction::ToClient && f.sealed() && (f.type() == kP4 || f.type() == kReceipt);
    if (outcome && dropping_) {
      ++dropped_;
      return;
    }
    if (f.direction == Direction::ToClient && f.sealed() && f.type() == kP2) ++scripts_;
    out.forward(f.bytes);
  }
  bool dropping_ = true;
  int dropped_ = 0, scripts_ = 0;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST_F(BrokenDelivery, TenBrokenDeliveriesThenACleanAttemptPersonalisesTheCard) {
  const auto iccids = standard_stock(1);
  ASSERT_EQ(iccids.size(), 1u);
  const std::string iccid = iccids[0], image = card_image("cards", iccid);
  const int tries_before = adm_tries(image);
  ASSERT_GT(tries_before, 0);
  ASSERT_TRUE(open_ads());
  const std::string customer = customer_file("Alice Example", "1990-02-28");

  CardSim* card = nullptr;
  for (int n = 0; n < kBroken; ++n) {
    SCOPED_TRACE("broken attempt " + std::to_string(n + 1));
    card = attempt(n, customer, image, card);
    ASSERT_NE(card, nullptr);
    EXPECT_EQ(ste().wait_exit(60000ms), 2) << display_text();
    EXPECT_FALSE(displayed("Personalising card")) << "the terminal ran a script it did not receive whole\n"
                                                  << display_text();
    give_up(card);
    EXPECT_EQ(card_row(iccid).state, "failed") << "after broken attempt " << n + 1;
  }
  {
    std::lock_guard lock(mutex_);
    ASSERT_EQ(broken_, kBroken) << "the relay did not see ten P2 frames";
    std::string ways;
    for (std::size_t i = 0; i < 4 && i < how_.size(); ++i) ways += (i ? ", " : "") + how_[i];
    observe("relay broke P2 " + std::to_string(broken_) + " times (" + ways + ", in turn)");
  }
  EXPECT_EQ(count("SELECT failures FROM cards WHERE iccid = ?1", {iccid}), 0);

  card = attempt(kBroken, customer, image, card);
  ASSERT_NE(card, nullptr);
  ASSERT_TRUE(wait_display("Card personalised: MSISDN \\d+$", 60000ms)) << display_text();
  pull(card);
  expect_session_completed();
  card->terminate();  // its image written as the card now is

  const CardRow row = card_row(iccid);
  EXPECT_EQ(row.state, "personalised");
  EXPECT_EQ(row.attempts, kBroken + 1);
  EXPECT_EQ(count("SELECT failures FROM cards WHERE iccid = ?1", {iccid}), 0);
  EXPECT_EQ(count("SELECT count(*) FROM cards WHERE state = 'spoiled'"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM audit_log WHERE event = 'card_spoiled'"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM audit_log WHERE event = 'card_failed' AND detail LIKE '%not_counted%'"),
            kBroken);
  const int tries_after = adm_tries(image);
  EXPECT_EQ(tries_after, tries_before) << "the card's ADM tries changed";
  expect_no_number_lost();
  observe("the 11th attempt personalised the card; attempts " + std::to_string(row.attempts) +
          ", failures that count 0, never spoiled; ADM tries " + std::to_string(tries_before) + " before, " +
          std::to_string(tries_after) + " after");
}

TEST_F(LostOutcome, TheRetryGetsTheCommittedOutcomeAgain) {
  const auto iccids = standard_stock(1);
  ASSERT_EQ(iccids.size(), 1u);
  const std::string iccid = iccids[0], image = card_image("cards", iccid);
  ASSERT_TRUE(open_ads());
  const std::string customer = customer_file("Alice Example", "1990-02-28");

  // The first attempt: the card is written and committed, and the shop hears nothing.
  CardSim* card = attempt(0, customer, image, nullptr);
  ASSERT_NE(card, nullptr);
  auto committed = wait_for_log(ads_log_, std::regex("card " + iccid + " personalised: msisdn (\\d+)"), 60s);
  ASSERT_TRUE(committed) << ads_log();
  const std::string msisdn = committed->at(1);
  EXPECT_FALSE(wait_display("Card personalised", 2000ms)) << "the outcome reached the terminal";
  give_up(card);
  const auto numbers_before = allocations();
  {
    std::lock_guard lock(mutex_);
    observe("first attempt committed (msisdn " + msisdn + "); the relay dropped " + std::to_string(dropped_) +
            " frames (P4 to both ends, the receipt)");
    dropping_ = false;
  }

  // The retry, the same card and customer.
  card = attempt(1, customer, image, card);
  ASSERT_NE(card, nullptr);
  ASSERT_TRUE(wait_display("Card personalised: MSISDN " + msisdn + "$", 60000ms)) << display_text();
  pull(card);
  expect_session_completed();
  {
    std::lock_guard lock(mutex_);
    EXPECT_EQ(scripts_, 1) << "a script was sent again";
  }
  const std::string receipt = read_file(receipt_dir_ + "/receipt-" + iccid + ".txt");
  EXPECT_NE(receipt.find(msisdn), std::string::npos) << receipt;
  EXPECT_NE(receipt.find("Reissued: true"), std::string::npos) << receipt;
  EXPECT_EQ(count("SELECT count(*) FROM audit_log WHERE event = 'receipt_reissued' AND subject = ?1", {iccid}), 1);
  EXPECT_EQ(records(iccid).size(), 1u);
  EXPECT_EQ(allocations().size(), numbers_before.size());
  for (std::size_t i = 0; i < numbers_before.size() && i < allocations().size(); ++i) {
    EXPECT_EQ(allocations()[i].value, numbers_before[i].value);
    EXPECT_EQ(allocations()[i].state, numbers_before[i].state);
  }
  expect_no_number_lost();
  auto reprinted = adsctl({"card", "receipt", iccid});
  EXPECT_EQ(reprinted.exit_code, 0) << reprinted.err;
  EXPECT_NE(reprinted.out.find("\"msisdn\":\"" + msisdn + "\""), std::string::npos) << reprinted.out;
  EXPECT_NE(reprinted.out.find("\"reissued\":true"), std::string::npos) << reprinted.out;
  observe("the retry showed MSISDN " + msisdn + " again with the receipt marked re-issued; receipt_reissued ×1 in "
          "the audit log; one script in all; numbers unchanged; adsctl card receipt prints it");
}
