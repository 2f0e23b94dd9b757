// Sabotage by a broken line (docs/security.md): a relay between DTD and ADS breaks the delivery of one
// blank card's script ten times in a row — the P2 frame cut after its header, cut mid-payload, cut one
// byte short (each time the link then closed), or delivered with a flipped ciphertext byte — and then
// lets the eleventh attempt through. The terminal never runs a script it did not receive whole and
// authentic, so the card is never touched: nothing may be held against it. Expected: the card is
// personalised on the clean attempt, its ADM tries (read from the card image) are what they were,
// the card is never recorded spoiled, and its failures that count stay 0 (attempts 11).
#include <mutex>

#include "personalisation_fixture.hpp"
#include "relay.hpp"
#include "security_row.hpp"

using namespace cardperso;
using namespace cardperso::attack;
using namespace cardperso::e2e;
using namespace std::chrono_literals;

namespace {

constexpr std::uint8_t kP2 = 0x24;
constexpr int kBroken = 10;

class BrokenDelivery : public PersonalisationFixture {
 protected:
  void TearDown() override {
    write_security_row(SecurityRow{attack_, "DTD↔ADS", expected_, observed_}, "BrokenDeliveryTenTimesThenClean",
                       HasFailure());
    relay_.reset();
    PersonalisationFixture::TearDown();
  }

  // Breaks the first kBroken P2 frames, four ways in turn; everything else passes.
  void on_frame(const RelayedFrame& f, RelayOutput& out) {
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
        corrupted[header + 8 + corrupted.size() / 2 % 64] ^= 0x01;  // a ciphertext byte
        out.forward(corrupted);
        how_.push_back("one ciphertext bit flipped");
        break;
      }
    }
  }

  // One attempt: the DTD (through the relay) with one customer, the retailer card in, the STE, then
  // the customer card.
  cardperso::testing::CardSimProcess* attempt(int n, const std::string& customer, const std::string& image,
                                   cardperso::testing::CardSimProcess* customer_sim) {
    dtd_port_ = start_dtd(relay_->port(), "", true,
                          {"--customer", customer, "--receipt-dir", receipt_dir_, "--exit-after-last"});
    EXPECT_GT(dtd_port_, 0);
    if (n == 0) {
      retailer_sim_ = start_card(retailer_image_, 0);
      EXPECT_NE(retailer_sim_, nullptr);
    } else {
      reinsert(retailer_sim_);
    }
    SteOptions options;
    options.keypad = {kPin};
    for (const auto& k : new_card_keys()) options.keypad.push_back(k);
    start_ste(dtd_port_, options);
    remove_retailer_card();
    if (customer_sim == nullptr) return insert_customer_card(image, 1);
    EXPECT_TRUE(wait_display_count("Insert customer card", 1, 30000ms)) << display_text();
    reinsert(customer_sim);
    return customer_sim;
  }

  std::unique_ptr<FrameProxy> relay_;
  std::mutex mutex_;
  int broken_ = 0;
  std::vector<std::string> how_;
  std::string attack_ = "the delivery of one blank card's script (P2) broken 10 times in a row — cut after the "
                        "header, 100 bytes in, one byte short (link closed), or a ciphertext bit flipped — then a "
                        "clean attempt";
  std::string expected_ = "personalised on the clean attempt; its ADM tries untouched (card image); never spoiled; "
                          "no failure held against it";
  std::vector<std::string> observed_;
  void observe(std::string what) { observed_.push_back(std::move(what)); }
};

}  // namespace

TEST_F(BrokenDelivery, TenBrokenDeliveriesThenACleanAttemptPersonalisesTheCard) {
  const auto iccids = standard_stock(1);
  ASSERT_EQ(iccids.size(), 1u);
  const std::string iccid = iccids[0], image = card_image("cards", iccid);
  const int tries_before = adm_tries(image);
  ASSERT_GT(tries_before, 0);
  const int ads_port = start_ads({"--profile", profile_path_});
  ASSERT_GT(ads_port, 0);
  relay_ = std::make_unique<FrameProxy>(ads_port, [this](const RelayedFrame& f, RelayOutput& out) { on_frame(f, out); });
  const std::string customer = customer_file("Alice Example", "1990-02-28");

  cardperso::testing::CardSimProcess* card = nullptr;
  for (int n = 0; n < kBroken; ++n) {
    SCOPED_TRACE("broken attempt " + std::to_string(n + 1));
    card = attempt(n, customer, image, card);
    ASSERT_NE(card, nullptr);
    const auto code = ste().wait_exit(60000ms);
    EXPECT_EQ(code, 2) << display_text();
    EXPECT_FALSE(displayed("Personalising card")) << "the terminal ran a script it did not receive whole\n"
                                                  << display_text();
    pull(card);
    // The terminal left while the card was in: let pcscd see the reader empty before the next card.
    auto absent = pcsc().wait_for_card_absent(cardperso::testing::kReader0, std::chrono::seconds(5));
    ASSERT_TRUE(absent.ok() && *absent) << "pcscd still sees a card after the customer card was pulled";
    if (dtd_) dtd_->kill_now();
    ASSERT_TRUE(wait_no_open_session(15s));
    const CardRow row = card_row(iccid);
    EXPECT_EQ(row.state, "failed") << "after broken attempt " << n + 1;
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
