// Retailer sign-on against the in-memory SIM engine (the same engine the card-sim program plugs into
// pcscd): real APDUs, real CHV counters, real keypad scripts in files.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>

#include "cardperso/cardsim/card_builders.hpp"
#include "cardperso/card/file_ids.hpp"
#include "cardperso/cardsim/sim_card.hpp"
#include "cardperso/ste/display.hpp"
#include "cardperso/ste/keypad.hpp"
#include "cardperso/ste/retailer_card.hpp"

namespace cardperso::ste {
namespace {

constexpr std::string_view kSerial = "8944001234567890";
constexpr std::string_view kPin = "2468";

SecretBytes key(std::uint8_t start) {
  Bytes b(16);
  for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<std::uint8_t>(start + 3 * i);
  return SecretBytes(b);
}

cardsim::RetailerKeys builder_keys() {
  cardsim::RetailerKeys k;
  k.key_version = 7;
  k.k_ra = key(0x10);
  k.k_ia = key(0x50);
  k.k_s = key(0x90);
  k.k_d = key(0xd0);
  return k;
}

cardsim::CardImage retailer_image() {
  return cardsim::make_retailer_card(kSerial, kPin, "12345678", hex("0102030405060708"), builder_keys());
}

class Card {
 public:
  explicit Card(cardsim::CardImage image) : sim_(std::move(image)) { sim_.power_on(); }
  cardperso::card::TransmitFn transmit() {
    return [this](ByteView command) -> Result<Bytes> { return sim_.transmit(command); };
  }
  cardsim::SimCard& sim() { return sim_; }

 private:
  cardsim::SimCard sim_;
};

// A keypad script in a temporary file, read through the real script keypad.
class ScriptFile {
 public:
  explicit ScriptFile(const std::vector<std::string>& entries) {
    char name[] = "/tmp/ste-signon-test-XXXXXX";
    const int fd = ::mkstemp(name);
    if (fd < 0) throw std::runtime_error("mkstemp failed");
    ::close(fd);
    path_ = name;
    std::ofstream out(path_);
    for (const auto& e : entries) out << e << "\n";
  }
  ~ScriptFile() { std::remove(path_.c_str()); }
  std::unique_ptr<Keypad> keypad() const {
    auto k = make_script_keypad("file:" + path_);
    if (!k) throw std::runtime_error(k.error().message);
    return std::move(k).value();
  }

 private:
  std::string path_;
};

bool shown(const RecordingDisplay& d, std::string_view line) {
  return std::find(d.lines.begin(), d.lines.end(), line) != d.lines.end();
}

bool same(const SecretBytes& a, const SecretBytes& b) {
  return a.size() == b.size() && std::equal(a.view().begin(), a.view().end(), b.view().begin());
}

void expect_no_secret_shown(const RecordingDisplay& d, const std::vector<std::string>& pins) {
  for (const auto& line : d.lines)
    for (const auto& pin : pins) EXPECT_EQ(line.find(pin), std::string::npos) << "display showed a PIN: " << line;
}

TEST(RetailerCard, ReadsSerialAndTriesLeft) {
  Card card(retailer_image());
  auto serial = read_serial(card.transmit());
  ASSERT_TRUE(serial) << serial.error().message;
  EXPECT_EQ(*serial, kSerial);
  auto tries = read_chv1_tries_left(card.transmit());
  ASSERT_TRUE(tries) << tries.error().message;
  EXPECT_EQ(*tries, 3);
}

TEST(RetailerCard, KeysNeedThePin) {
  Card card(retailer_image());
  auto keys = read_keys(card.transmit());
  ASSERT_FALSE(keys);
  EXPECT_NE(keys.error().message.find("9804"), std::string::npos) << keys.error().message;
}

TEST(RetailerCard, VerifyPinReportsWrongAndAccepted) {
  Card card(retailer_image());
  auto wrong = verify_pin(card.transmit(), SecretBytes(view(std::string("1111"))));
  ASSERT_TRUE(wrong) << wrong.error().message;
  ASSERT_TRUE(std::holds_alternative<WrongPin>(*wrong));
  EXPECT_EQ(std::get<WrongPin>(*wrong).tries_left, 2);
  auto right = verify_pin(card.transmit(), SecretBytes(view(std::string(kPin))));
  ASSERT_TRUE(right) << right.error().message;
  EXPECT_TRUE(std::holds_alternative<PinAccepted>(*right));
  EXPECT_FALSE(verify_pin(card.transmit(), SecretBytes(view(std::string("12a4")))));
  EXPECT_FALSE(verify_pin(card.transmit(), SecretBytes(view(std::string("123")))));
}

TEST(SignOn, RightPinReadsTheBuildersKeys) {
  Card card(retailer_image());
  ScriptFile script({std::string(kPin)});
  auto keypad = script.keypad();
  RecordingDisplay display;
  auto creds = sign_on(card.transmit(), *keypad, display);
  ASSERT_TRUE(creds) << creds.error().message;
  EXPECT_EQ(creds->serial, kSerial);
  const auto expected = builder_keys();
  EXPECT_EQ(creds->key_version, expected.key_version);
  EXPECT_TRUE(same(creds->keys.k_ra, expected.k_ra));
  EXPECT_TRUE(same(creds->keys.k_ia, expected.k_ia));
  EXPECT_TRUE(same(creds->keys.k_s, expected.k_s));
  EXPECT_TRUE(same(creds->keys.k_d, expected.k_d));
  EXPECT_TRUE(creds->keys.complete());
  EXPECT_EQ(display.lines, (std::vector<std::string>{"Enter retailer PIN", "Signed on: retailer 8944001234567890"}));
  expect_no_secret_shown(display, {std::string(kPin)});
}

TEST(SignOn, WrongPinThenRightPin) {
  Card card(retailer_image());
  ScriptFile script({"1357", std::string(kPin)});
  auto keypad = script.keypad();
  RecordingDisplay display;
  auto creds = sign_on(card.transmit(), *keypad, display);
  ASSERT_TRUE(creds) << creds.error().message;
  EXPECT_EQ(display.lines, (std::vector<std::string>{"Enter retailer PIN", "Wrong PIN: 2 tries left",
                                                     "Enter retailer PIN", "Signed on: retailer 8944001234567890"}));
  // The right PIN resets the card's counter.
  auto tries = read_chv1_tries_left(card.transmit());
  ASSERT_TRUE(tries);
  EXPECT_EQ(*tries, 3);
  expect_no_secret_shown(display, {"1357", std::string(kPin)});
}

TEST(SignOn, ThreeWrongPinsBlockTheCardAndRefuse) {
  Card card(retailer_image());
  ScriptFile script({"1111", "2222", "3333", std::string(kPin)});
  auto keypad = script.keypad();
  RecordingDisplay display;
  auto creds = sign_on(card.transmit(), *keypad, display);
  ASSERT_FALSE(creds);
  EXPECT_NE(creds.error().message.find("blocked"), std::string::npos);
  EXPECT_EQ(display.lines,
            (std::vector<std::string>{"Enter retailer PIN", "Wrong PIN: 2 tries left", "Enter retailer PIN",
                                      "Wrong PIN: 1 tries left", "Enter retailer PIN", "Retailer card blocked"}));
  auto tries = read_chv1_tries_left(card.transmit());
  ASSERT_TRUE(tries);
  EXPECT_EQ(*tries, 0);
  // Blocked means blocked: even the right PIN is refused now.
  auto again = verify_pin(card.transmit(), SecretBytes(view(std::string(kPin))));
  ASSERT_TRUE(again);
  EXPECT_TRUE(std::holds_alternative<PinBlocked>(*again));
}

TEST(SignOn, BlockedCardIsRefusedWithoutAskingForThePin) {
  auto image = retailer_image();
  image.tries_left[card::kRefChv1] = 0;
  Card card(std::move(image));
  ScriptFile script({std::string(kPin)});
  auto keypad = script.keypad();
  RecordingDisplay display;
  auto creds = sign_on(card.transmit(), *keypad, display);
  ASSERT_FALSE(creds);
  EXPECT_EQ(display.lines, (std::vector<std::string>{"Retailer card blocked"}));
}

TEST(SignOn, KeypadRunningOutAfterAWrongPinRefuses) {
  Card card(retailer_image());
  ScriptFile script({"9999"});
  auto keypad = script.keypad();
  RecordingDisplay display;
  auto creds = sign_on(card.transmit(), *keypad, display);
  ASSERT_FALSE(creds);
  EXPECT_TRUE(shown(display, "Wrong PIN: 2 tries left"));
  EXPECT_EQ(display.lines.back(), "Refused: no PIN entered");
}

TEST(SignOn, BlankSimIsNotARetailerCard) {
  const auto master = hex("c46919dfc5bcc287");
  Card card(cardsim::make_blank_sim("8988211000000000011", master));
  ScriptFile script({std::string(kPin)});
  auto keypad = script.keypad();
  RecordingDisplay display;
  auto creds = sign_on(card.transmit(), *keypad, display);
  ASSERT_FALSE(creds);
  EXPECT_NE(creds.error().message.find("retailer"), std::string::npos) << creds.error().message;
  EXPECT_EQ(display.lines, (std::vector<std::string>{"Refused: not a retailer card"}));
}

TEST(SignOn, KeyFileOfTheWrongLengthIsRefused) {
  for (std::size_t size : {std::size_t{64}, std::size_t{66}}) {
    auto image = retailer_image();
    bool patched = false;
    for (auto& f : image.files) {
      if (f.path == "3F00/7F50/6F01") {
        f.data.resize(size, 0x42);
        patched = true;
      }
    }
    ASSERT_TRUE(patched);
    Card card(std::move(image));
    ScriptFile script({std::string(kPin)});
    auto keypad = script.keypad();
    RecordingDisplay display;
    auto creds = sign_on(card.transmit(), *keypad, display);
    ASSERT_FALSE(creds) << size;
    EXPECT_NE(creds.error().message.find(std::to_string(size) + " bytes"), std::string::npos)
        << creds.error().message;
    EXPECT_EQ(display.lines.back(), "Refused: not a retailer card");
    EXPECT_FALSE(shown(display, "Signed on: retailer 8944001234567890"));
  }
}

TEST(SignOn, DecodeKeyFileDemandsTheExactLength) {
  EXPECT_FALSE(decode_key_file(SecretBytes(64)));
  EXPECT_FALSE(decode_key_file(SecretBytes(66)));
  EXPECT_FALSE(decode_key_file(SecretBytes()));
  auto ok = decode_key_file(SecretBytes(65));
  ASSERT_TRUE(ok);
  EXPECT_TRUE(ok->keys.complete());
}

}  // namespace
}  // namespace cardperso::ste
