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
#include "cardperso/ste/card_retailer_secrets.hpp"
#include "cardperso/ste/retailer_card.hpp"
#include "cardperso/ste/status_reporter.hpp"
#include "cardperso/common/crypto.hpp"
#include "cardperso/testing/card_response.hpp"

namespace cardperso::ste {
namespace {

using cardperso::testing::sw_of;

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

// The ADS's half of H4, from K_IA as the issuer holds it.
Bytes reference_issuer_cryptogram(const Bytes& rn2) {
  auto block = crypto::aes128_encrypt_block(builder_keys().k_ia.view(), rn2);
  return Bytes(block.begin(), block.end());
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

// What the STE would compute with keys in memory: the reference the card's answers must match.
proto::KeyedRetailerSecrets reference_secrets() {
  const auto k = builder_keys();
  proto::RetailerKeys keys;
  keys.k_ra = k.k_ra;
  keys.k_ia = k.k_ia;
  keys.k_s = k.k_s;
  keys.k_d = k.k_d;
  return proto::KeyedRetailerSecrets(std::move(keys));
}

Bytes nonce(std::uint8_t start) {
  Bytes b(16);
  for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<std::uint8_t>(start + 7 * i);
  return b;
}

TEST(RetailerCard, ComputationsNeedThePin) {
  Card card(retailer_image());
  auto version = read_key_version(card.transmit());
  ASSERT_TRUE(version) << version.error().message;  // the key version is public
  EXPECT_EQ(*version, 7);
  CardRetailerSecrets secrets(card.transmit());
  auto c = secrets.retailer_cryptogram(nonce(1));
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("9804"), std::string::npos) << c.error().message;
  EXPECT_FALSE(secrets.issuer_matches(nonce(2), nonce(3)));
  EXPECT_FALSE(secrets.session_key_input(proto::SessionKeyRole::SkS, nonce(4), nonce(5)));
}

TEST(RetailerCard, KeyFileIsNeverReadEvenWithThePin) {
  Card card(retailer_image());
  auto right = verify_pin(card.transmit(), SecretBytes(view(std::string(kPin))));
  ASSERT_TRUE(right && std::holds_alternative<PinAccepted>(*right));
  ASSERT_EQ(sw_of(card.sim().transmit(hex("A0A40000027F50"))) >> 8, 0x9F);
  ASSERT_EQ(sw_of(card.sim().transmit(hex("A0A40000026F01"))) >> 8, 0x9F);
  auto read = card.sim().transmit(hex("A0B0000041"));
  EXPECT_EQ(sw_of(read), 0x9804);
  EXPECT_EQ(read.size(), 2u) << "READ BINARY of the key file returned data";
}

TEST(RetailerCard, CardComputesWhatTheKeysWould) {
  Card card(retailer_image());
  auto right = verify_pin(card.transmit(), SecretBytes(view(std::string(kPin))));
  ASSERT_TRUE(right && std::holds_alternative<PinAccepted>(*right));
  ASSERT_TRUE(read_key_version(card.transmit()));
  CardRetailerSecrets on_card(card.transmit());
  auto reference = reference_secrets();

  auto c = on_card.retailer_cryptogram(nonce(1));
  auto c_ref = reference.retailer_cryptogram(nonce(1));
  ASSERT_TRUE(c && c_ref) << (c ? c_ref.error().message : c.error().message);
  EXPECT_EQ(to_hex(*c), to_hex(*c_ref));

  auto issuer = reference_issuer_cryptogram(nonce(2));
  auto match = on_card.issuer_matches(nonce(2), issuer);
  ASSERT_TRUE(match) << match.error().message;
  EXPECT_TRUE(*match);
  issuer[15] ^= 0x01;
  auto mismatch = on_card.issuer_matches(nonce(2), issuer);
  ASSERT_TRUE(mismatch) << mismatch.error().message;
  EXPECT_FALSE(*mismatch);

  for (auto role : {proto::SessionKeyRole::SkS, proto::SessionKeyRole::SkD}) {
    auto in = on_card.session_key_input(role, nonce(3), nonce(4));
    auto in_ref = reference.session_key_input(role, nonce(3), nonce(4));
    ASSERT_TRUE(in && in_ref);
    EXPECT_EQ(to_hex(in->view()), to_hex(in_ref->view()));
  }
  auto s = on_card.session_key_input(proto::SessionKeyRole::SkS, nonce(3), nonce(4));
  auto d = on_card.session_key_input(proto::SessionKeyRole::SkD, nonce(3), nonce(4));
  EXPECT_NE(to_hex(s->view()), to_hex(d->view()));
}

TEST(RetailerCard, ComputationsReselectTheRetailerDirectory) {
  Card card(retailer_image());
  auto right = verify_pin(card.transmit(), SecretBytes(view(std::string(kPin))));
  ASSERT_TRUE(right && std::holds_alternative<PinAccepted>(*right));
  ASSERT_EQ(sw_of(card.sim().transmit(hex("A0A40000023F00"))) >> 8, 0x9F);  // MF current, not 7F50
  CardRetailerSecrets on_card(card.transmit());
  auto c = on_card.retailer_cryptogram(nonce(1));
  ASSERT_TRUE(c) << c.error().message;
  auto c_ref = reference_secrets().retailer_cryptogram(nonce(1));
  EXPECT_EQ(to_hex(*c), to_hex(*c_ref));
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

TEST(SignOn, RightPinYieldsTheCardsComputations) {
  Card card(retailer_image());
  ScriptFile script({std::string(kPin)});
  auto keypad = script.keypad();
  RecordingDisplay display;
  auto creds = sign_on(card.transmit(), *keypad, display);
  ASSERT_TRUE(creds) << creds.error().message;
  EXPECT_EQ(creds->serial, kSerial);
  EXPECT_EQ(creds->key_version, builder_keys().key_version);
  ASSERT_NE(creds->secrets, nullptr);
  auto c = creds->secrets->retailer_cryptogram(nonce(9));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(to_hex(*c), to_hex(*reference_secrets().retailer_cryptogram(nonce(9))));
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

// What the shop PC's console is told: each prompt as a code, the tries left as a number, no text.
TEST(SignOn, ReportsEachPromptAsACode) {
  using proto::TerminalPrompt;
  using proto::TerminalStatus;
  {
    Card card(retailer_image());
    ScriptFile script({"1357", std::string(kPin)});
    auto keypad = script.keypad();
    RecordingDisplay display;
    RecordingStatusReporter status;
    ASSERT_TRUE(sign_on(card.transmit(), *keypad, display, status));
    EXPECT_EQ(status.statuses,
              (std::vector<TerminalStatus>{TerminalStatus::of(TerminalPrompt::EnterRetailerPin),
                                           TerminalStatus::wrong_retailer_pin(2),
                                           TerminalStatus::of(TerminalPrompt::EnterRetailerPin),
                                           TerminalStatus::of(TerminalPrompt::SignedOn)}));
  }
  {
    Card card(retailer_image());
    ScriptFile script({"1111", "2222", "3333"});
    auto keypad = script.keypad();
    RecordingDisplay display;
    RecordingStatusReporter status;
    ASSERT_FALSE(sign_on(card.transmit(), *keypad, display, status));
    EXPECT_EQ(status.statuses.back(), TerminalStatus::of(TerminalPrompt::RetailerCardBlocked));
    EXPECT_EQ(status.statuses[3], TerminalStatus::wrong_retailer_pin(1));
  }
  {
    Card card(retailer_image());
    ScriptFile script({});
    auto keypad = script.keypad();
    RecordingDisplay display;
    RecordingStatusReporter status;
    ASSERT_FALSE(sign_on(card.transmit(), *keypad, display, status));
    EXPECT_EQ(status.prompts(), (std::vector<TerminalPrompt>{TerminalPrompt::EnterRetailerPin, TerminalPrompt::Refused}));
  }
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
    EXPECT_NE(creds.error().message.find("9408"), std::string::npos) << creds.error().message;
    EXPECT_EQ(display.lines.back(), "Refused: not a retailer card");
    EXPECT_FALSE(shown(display, "Signed on: retailer 8944001234567890"));
  }
}

}  // namespace
}  // namespace cardperso::ste
