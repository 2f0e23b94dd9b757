// Attack: the insider with a recording (docs/security.md). A clerk records every frame of a real
// personalisation on the shop PC (the relay between DTD and ADS stands for that recording), then, with
// the retailer card and its PIN in any PC/SC reader, tries to open the recorded P2 Script (card A's
// Ki, OPc, IMSI and issuer ADM code):
//   - READ BINARY of the key file, with the PIN: refused (the card never reveals a key);
//   - the card's own SESSION KEY INPUT over the recorded RN3 and RN4: it answers, and the answer is the
//     true AES_K_S(RN3 XOR RN4) (checked against the key file in the image, which the test can see);
//   - SK_S = that value (protocol version 1's derivation): P2 does not open;
//   - SK_S = HKDF over that value and every X25519 secret the recording offers (zero, either public
//     share): P2 does not open. The X25519 secret needs an ephemeral private key, wiped by both ends.
// A positive control seals a frame with a known key and the recorded T4 and opens it the same way, so
// "does not open" is not the opener's own fault.
#include <cstring>
#include <map>
#include <mutex>

#include "cardperso/common/crypto.hpp"
#include "cardperso/proto/messages.hpp"
#include "cardperso/proto/secure_channel.hpp"
#include "cardperso/proto/session_keys.hpp"
#include "cardperso/proto/transcript.hpp"
#include "personalisation_fixture.hpp"
#include "relay.hpp"
#include "security_row.hpp"

using namespace cardperso;
using namespace cardperso::attack;
using namespace cardperso::e2e;
using namespace std::chrono_literals;

namespace {

constexpr std::uint8_t kH1 = 0x11, kH2 = 0x12, kH3 = 0x13, kH4 = 0x14, kP2 = 0x24;

class RecordedSession : public PersonalisationFixture {
 protected:
  void TearDown() override {
    write_security_row(SecurityRow{attack_, "shop PC + retailer card", expected_, observed_}, "RecordedSessionInsider",
                       HasFailure());
    relay_.reset();
    PersonalisationFixture::TearDown();
  }

  // The recording: the first frame of each handshake type and the first P2 of the first connection.
  void on_frame(const RelayedFrame& f, RelayOutput& out) {
    std::lock_guard lock(mutex_);
    if (f.connection == 0 && f.channel() == 1 && recorded_.count(f.type()) == 0) recorded_.emplace(f.type(), f);
    out.forward(f.bytes);
  }

  proto::Frame frame_of(const RelayedFrame& f) {
    proto::FrameDecoder decoder;
    decoder.feed(f.bytes);
    auto next = decoder.next();
    EXPECT_TRUE(next.ok() && next->has_value());
    return next.ok() && next->has_value() ? **next : proto::Frame{};
  }

  // Opens a recorded ADS->STE sealed frame under a candidate SK_S and the recorded T4.
  static bool opens(const SecretBytes& key, const proto::TranscriptHash& t4, const proto::Frame& frame) {
    proto::SecureChannel ste(key, t4, proto::Direction::SteToAds, proto::Direction::AdsToSte);
    ste.set_counters_for_test(0, get_u64(frame.payload, 0));  // the frame's clear counter
    return ste.open(frame).ok();
  }

  std::unique_ptr<FrameProxy> relay_;
  std::mutex mutex_;
  std::map<std::uint8_t, RelayedFrame> recorded_;
  std::string attack_ =
      "the insider: a recording of a whole personalisation, then the retailer card and its PIN in a PC/SC reader "
      "(READ BINARY of the keys; the card's SESSION KEY INPUT over the recorded RN3, RN4)";
  std::string expected_ =
      "no key read; the card's answer is the true patent input, and neither it (v1 derivation) nor HKDF over it with "
      "any X25519 value in the recording opens the recorded P2";
  std::vector<std::string> observed_;
  void observe(std::string what) { observed_.push_back(std::move(what)); }
};

}  // namespace

TEST_F(RecordedSession, CardAndPinAfterwardsDoNotOpenTheRecordedScript) {
  const auto iccids = standard_stock(1);
  ASSERT_EQ(iccids.size(), 1u);
  const int ads_port = start_ads({"--profile", profile_path_});
  ASSERT_GT(ads_port, 0);
  relay_ = std::make_unique<FrameProxy>(ads_port, [this](const RelayedFrame& f, RelayOutput& out) { on_frame(f, out); });

  // The recorded session: card A personalised, legitimately.
  const int dtd_port = start_dtd(relay_->port(), "", true,
                                 {"--customer", customer_file("Alice Example", "1990-02-28"), "--receipt-dir",
                                  receipt_dir_, "--exit-after-last"});
  ASSERT_GT(dtd_port, 0);
  retailer_sim_ = start_card(retailer_image_, 0);
  ASSERT_NE(retailer_sim_, nullptr);
  SteOptions options;
  options.keypad = {kPin};
  for (const auto& k : new_card_keys()) options.keypad.push_back(k);
  start_ste(dtd_port, options);
  remove_retailer_card();
  auto* sim_a = insert_customer_card(card_image("cards", iccids[0]), 1);
  ASSERT_NE(sim_a, nullptr);
  ASSERT_TRUE(wait_display("Card personalised: MSISDN \\d+$", 60000ms)) << display_text();
  pull(sim_a);
  expect_session_completed();
  ASSERT_FALSE(HasFailure());
  std::map<std::uint8_t, proto::Frame> rec;
  {
    std::lock_guard lock(mutex_);
    for (auto type : {kH1, kH2, kH3, kH4, kP2}) {
      ASSERT_EQ(recorded_.count(type), 1u) << "the recording lacks message type " << int(type);
      rec[type] = frame_of(recorded_.at(type));
    }
  }
  auto h1 = proto::HandshakeH1::decode(rec[kH1].payload);
  auto h2 = proto::HandshakeH2::decode(rec[kH2].payload);
  auto h3 = proto::HandshakeH3::decode(rec[kH3].payload);
  auto h4 = proto::HandshakeH4::decode(rec[kH4].payload);
  ASSERT_TRUE(h1 && h2 && h3 && h4);
  const proto::TranscriptInputs in{rec[kH1].payload, h2->session, rec[kH2].payload, h3->retailer_cryptogram};
  const auto t2 = proto::transcript_h2(in);
  const auto t4 = proto::transcript_h4(in, h4->issuer_cryptogram);
  observe("recorded: H1..H4 and P2 of a completed session (card A personalised)");

  // The insider's card work: the retailer card back in a reader, the PIN typed.
  reinsert(retailer_sim_);
  auto card = connect();
  ASSERT_TRUE(card);
  std::string pin_hex = to_hex(ByteView(reinterpret_cast<const std::uint8_t*>(kPin), std::strlen(kPin)));
  pin_hex.resize(16, 'f');
  ASSERT_EQ(run(*card, "A020000108" + pin_hex).sw, 0x9000);
  ASSERT_EQ(run(*card, "A0A40000027F50").sw, 0x9000);
  ASSERT_EQ(run(*card, "A0A40000026F01").sw, 0x9000);
  auto read = run(*card, "A0B0000041");
  EXPECT_EQ(read.sw, 0x9804) << "the key file was readable with the PIN";
  EXPECT_TRUE(read.data.empty());
  auto input = run(*card, "A08E000120" + to_hex(h2->rn3) + to_hex(h1->rn4));
  ASSERT_EQ(input.sw, 0x9000);
  ASSERT_EQ(input.data.size(), 16u);
  observe("card: READ BINARY of the key file with the PIN answered " + to_hex(Bytes{static_cast<std::uint8_t>(read.sw >> 8),
                                                                                  static_cast<std::uint8_t>(read.sw)}) +
          "; SESSION KEY INPUT over the recorded RN3, RN4 answered 9000");

  // The card told the truth: its answer is AES_K_S(RN3 XOR RN4) for the K_S in its key file.
  Bytes key_file;
  for (const auto& f : load(retailer_image_).files)
    if (f.path == "3F00/7F50/6F01") key_file = f.data;
  ASSERT_EQ(key_file.size(), 65u);
  const auto truth = crypto::aes128_encrypt_xor(ByteView(key_file).subspan(33, 16), h2->rn3, h1->rn4);
  EXPECT_EQ(to_hex(input.data), to_hex(truth)) << "the card's SESSION KEY INPUT is not the patent's value";

  // Positive control: the opener opens a frame sealed under a known key and the recorded T4.
  {
    proto::SecureChannel ads(SecretBytes(Bytes(16, 0x5a)), t4, proto::Direction::AdsToSte, proto::Direction::SteToAds);
    auto sealed = ads.seal(proto::FrameHeader{proto::kProtocolVersion, proto::Channel::SteAds, kP2, 0, h2->session, 0},
                           Bytes{0x63, 0x6f, 0x6e, 0x74, 0x72, 0x6f, 0x6c});
    ASSERT_TRUE(sealed);
    EXPECT_TRUE(opens(SecretBytes(Bytes(16, 0x5a)), t4, *sealed)) << "the opener itself is broken";
  }

  const SecretBytes patent_input{ByteView(input.data)};
  std::vector<std::pair<std::string, SecretBytes>> candidates;
  candidates.emplace_back("SK_S = the card's answer (v1)", patent_input);
  for (const auto& [name, z] : std::vector<std::pair<std::string, Bytes>>{
           {"zero", Bytes(32, 0)}, {"the STE's share", Bytes(h1->share.begin(), h1->share.end())},
           {"the ADS's share", Bytes(h2->share.begin(), h2->share.end())}})
    candidates.emplace_back("HKDF with Z = " + name, proto::session_key(proto::ConfirmedKey::SkS, patent_input, SecretBytes(z), t2));
  int opened = 0;
  for (const auto& [name, key] : candidates) {
    const bool ok = opens(key, t4, rec[kP2]);
    EXPECT_FALSE(ok) << "the recorded P2 opened under " << name;
    opened += ok ? 1 : 0;
  }
  observe("recorded P2 opened under " + std::to_string(opened) + " of " + std::to_string(candidates.size()) +
          " derivations (v1; HKDF with Z = zero, either share)");
}
