#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <set>

#include "cardperso/proto/pairing.hpp"
#include "cardperso/proto/session_keys.hpp"
#include "cardperso/testing/test_keys.hpp"
#include "harness.hpp"

using namespace cardperso;
using namespace cardperso::proto;
using namespace cardperso::proto::testing;
using namespace std::chrono_literals;

namespace {
const std::string kSerial = "89440012345678901";

std::string str(const SecretBytes& s) { return std::string(s.view().begin(), s.view().end()); }
Bytes bytes_of(std::string_view s) { return Bytes(s.begin(), s.end()); }

struct HandshakeTest : ::testing::Test {
  Net net;
  void SetUp() override { net.retailers[kSerial] = Retailer{RetailerStatus::Active, make_keys(0x00)}; }
  bool sent_to_ste(MessageType t) const {
    return std::find(net.types_to_ste.begin(), net.types_to_ste.end(), static_cast<std::uint8_t>(t)) !=
           net.types_to_ste.end();
  }
  const Frame* first_of(MessageType t) const {
    for (const auto& f : net.log)
      if (f.header.type == static_cast<std::uint8_t>(t)) return &f;
    return nullptr;
  }
};
}  // namespace

TEST_F(HandshakeTest, HappyPathInTwoRoundTripsThenEchoOnEachChannel) {
  net.start(kSerial, make_keys(0x00));
  ASSERT_EQ(net.ste_up.size(), 1u);
  ASSERT_EQ(net.ads_up.size(), 1u);
  ASSERT_EQ(net.dtd_up.size(), 1u);
  EXPECT_EQ(net.ads_up[0].serial, kSerial);
  EXPECT_EQ(net.dtd_up[0].serial, kSerial);
  EXPECT_EQ(net.ste_up[0].session, net.ads_up[0].session);
  EXPECT_EQ(net.dtd_up[0].session, net.ads_up[0].session);
  // Exactly two round trips between the DTD and the ADS: H1, H3 up; H2, H4 down.
  EXPECT_EQ(net.dtd_to_ads, 2u);
  EXPECT_EQ(net.ads_to_dtd, 2u);
  EXPECT_EQ(net.ste.state(), SteHandshake::State::Established);
  EXPECT_EQ(net.ads->state(), AdsHandshake::State::Established);
  EXPECT_EQ(net.dtd.state(), DtdRelay::State::Established);
  ASSERT_TRUE(net.ste.transcript() && net.ads->transcript());
  EXPECT_EQ(*net.ste.transcript(), *net.ads->transcript());
  EXPECT_FALSE(net.ste.holds_long_term_keys());
  // The L1 handover stayed on the local link: nothing on channel 0 reached the ADS.
  for (const auto& f : net.log)
    if (f.header.type == static_cast<std::uint8_t>(MessageType::SessionKeyHandover)) {
      EXPECT_EQ(f.header.channel, Channel::LinkControl);
    }

  // Channel 1 both ways, channel 2 both ways.
  net.from_ste(net.ste.send(MessageType::Echo, bytes_of("ping from STE"), net.now));
  ASSERT_EQ(net.ads_got.size(), 1u);
  EXPECT_EQ(net.ads_got[0].channel, Channel::SteAds);
  EXPECT_EQ(net.ads_got[0].type, MessageType::Echo);
  EXPECT_EQ(str(net.ads_got[0].plaintext), "ping from STE");
  net.from_ads(net.ads->send(Channel::SteAds, MessageType::Echo, bytes_of("pong to STE"), net.now));
  ASSERT_EQ(net.ste_got.size(), 1u);
  EXPECT_EQ(str(net.ste_got[0].plaintext), "pong to STE");
  net.from_dtd(net.dtd.send(MessageType::Echo, bytes_of("ping from DTD")));
  ASSERT_EQ(net.ads_got.size(), 2u);
  EXPECT_EQ(net.ads_got[1].channel, Channel::DtdAds);
  EXPECT_EQ(str(net.ads_got[1].plaintext), "ping from DTD");
  net.from_ads(net.ads->send(Channel::DtdAds, MessageType::Echo, bytes_of("pong to DTD"), net.now));
  ASSERT_EQ(net.dtd_got.size(), 1u);
  EXPECT_EQ(str(net.dtd_got[0].plaintext), "pong to DTD");
  // The DTD relayed channel-1 sealed frames it could not read, unchanged.
  EXPECT_TRUE(net.ste_closed.empty() && net.ads_closed.empty() && net.dtd_closed.empty());
}

TEST_F(HandshakeTest, SteTerminatesAndEveryoneErasesKeys) {
  net.start(kSerial, make_keys(0x00));
  ASSERT_EQ(net.ads_up.size(), 1u);
  net.from_ste(net.ste.terminate());
  ASSERT_EQ(net.ste_closed.size(), 1u);
  ASSERT_EQ(net.ads_closed.size(), 1u);
  ASSERT_EQ(net.dtd_closed.size(), 1u);
  EXPECT_EQ(net.ads_closed[0].code, ErrorCode::None);
  EXPECT_EQ(net.dtd_closed[0].code, ErrorCode::None);
  EXPECT_EQ(net.ste.state(), SteHandshake::State::Closed);
  EXPECT_EQ(net.ads->state(), AdsHandshake::State::Closed);
  EXPECT_EQ(net.dtd.state(), DtdRelay::State::Relaying);
  EXPECT_THROW((void)net.ste.send(MessageType::Echo, {}, net.now), std::logic_error);
}

TEST_F(HandshakeTest, AdsTerminatesBothChannels) {
  net.start(kSerial, make_keys(0x00));
  net.from_ads(net.ads->terminate());
  ASSERT_EQ(net.ste_closed.size(), 1u);
  ASSERT_EQ(net.dtd_closed.size(), 1u);
  EXPECT_EQ(net.ste_closed[0].code, ErrorCode::None);
  EXPECT_EQ(net.dtd.state(), DtdRelay::State::Relaying);
}

TEST_F(HandshakeTest, DtdTerminates) {
  net.start(kSerial, make_keys(0x00));
  net.from_dtd(net.dtd.terminate());
  ASSERT_EQ(net.ads_closed.size(), 1u);
  EXPECT_EQ(net.ads_closed[0].code, ErrorCode::None);
  ASSERT_EQ(net.ste_closed.size(), 1u);  // the ADS passed the end on to the STE
  EXPECT_EQ(net.ste_closed[0].code, ErrorCode::None);
}

TEST_F(HandshakeTest, TheRelayServesASecondSession) {
  net.start(kSerial, make_keys(0x00));
  net.from_ste(net.ste.terminate());
  const auto first = net.ads_up.at(0).session;
  net.ste = SteHandshake{};
  net.ste.pair(cardperso::testing::test_pairing_key());
  net.ste.identify(cardperso::testing::test_device_signer());
  net.start(kSerial, make_keys(0x00));
  ASSERT_EQ(net.ads_up.size(), 2u);
  ASSERT_EQ(net.dtd_up.size(), 2u);
  EXPECT_NE(net.ads_up[1].session, first);
  net.from_dtd(net.dtd.send(MessageType::Echo, bytes_of("second")));
  ASSERT_EQ(net.ads_got.size(), 1u);
  EXPECT_EQ(str(net.ads_got[0].plaintext), "second");
}

namespace {
// A refusal at H1: the STE is told NotAccepted, whatever the reason; the ADS's Close keeps the reason.
void expect_refused_at_h1(Net& net, ErrorCode ads_code) {
  ASSERT_EQ(net.ste_closed.size(), 1u);
  ASSERT_EQ(net.ads_closed.size(), 1u);
  EXPECT_EQ(net.ste_closed[0].code, ErrorCode::NotAccepted) << net.ste_closed[0].reason;
  EXPECT_EQ(net.ads_closed[0].code, ads_code) << net.ads_closed[0].reason;
  ASSERT_TRUE(net.refusal_waited);
  EXPECT_EQ(*net.refusal_waited, Timeouts{}.refusal_floor);
  EXPECT_TRUE(net.ste_up.empty() && net.ads_up.empty() && net.dtd_up.empty());
}

void expect_refused(Net& net, ErrorCode code) {
  ASSERT_EQ(net.ste_closed.size(), 1u);
  ASSERT_EQ(net.ads_closed.size(), 1u);
  EXPECT_EQ(net.ste_closed[0].code, code) << net.ste_closed[0].reason;
  EXPECT_EQ(net.ads_closed[0].code, code) << net.ads_closed[0].reason;
  EXPECT_TRUE(net.ste_up.empty());
  EXPECT_TRUE(net.ads_up.empty());
  EXPECT_TRUE(net.dtd_up.empty());
}
}  // namespace

TEST_F(HandshakeTest, UnknownRetailerIsRefused) {
  net.start("12345", make_keys(0x00));
  expect_refused_at_h1(net, ErrorCode::UnknownRetailer);
  EXPECT_FALSE(sent_to_ste(MessageType::H2));
}

TEST_F(HandshakeTest, RevokedRetailerIsRefused) {
  net.retailers[kSerial].status = RetailerStatus::Revoked;
  net.start(kSerial, make_keys(0x00));
  expect_refused_at_h1(net, ErrorCode::RetailerRevoked);
  EXPECT_FALSE(sent_to_ste(MessageType::H2));
}

TEST_F(HandshakeTest, LockedRetailerIsRefused) {
  net.retailers[kSerial].status = RetailerStatus::Locked;
  net.start(kSerial, make_keys(0x00));
  expect_refused_at_h1(net, ErrorCode::RetailerLocked);
  EXPECT_FALSE(sent_to_ste(MessageType::H2));
}

// Terminal identity (PROTOCOL.md §6.6): a device key that is not actively enrolled for the card is
// refused at H1, before anything about the card is looked at or counted.
TEST(TerminalIdentity, NotEnrolledRevokedOrOtherRetailersTerminalIsRefusedAtH1) {
  for (auto status : {TerminalEnrolment::NotEnrolled, TerminalEnrolment::Revoked, TerminalEnrolment::OtherRetailer}) {
    Net net;
    net.retailers[kSerial] = Retailer{RetailerStatus::Active, make_keys(0x00)};
    net.terminal_status = [status](const LookupRetailer&) { return status; };
    net.start(kSerial, make_keys(0x00));
    expect_refused_at_h1(net, ErrorCode::TerminalNotEnrolled);
    const std::string expected = status == TerminalEnrolment::NotEnrolled ? "is not enrolled"
                                 : status == TerminalEnrolment::Revoked   ? "was revoked"
                                                                       : "enrolled for another retailer";
    EXPECT_NE(net.ads_closed[0].reason.find(expected), std::string::npos) << net.ads_closed[0].reason;
    EXPECT_EQ(std::count(net.types_to_ste.begin(), net.types_to_ste.end(), static_cast<std::uint8_t>(MessageType::H2)), 0);
    EXPECT_TRUE(net.auth_failures.empty());
  }
}

TEST_F(HandshakeTest, AnUnenrolledTerminalLearnsNothingAboutTheCard) {
  net.ste.identify(cardperso::testing::test_device_signer(0x11));
  net.start("12345", make_keys(0x00));  // an unknown card: the answer is still about the terminal
  expect_refused_at_h1(net, ErrorCode::TerminalNotEnrolled);
}

TEST_F(HandshakeTest, ARogueTerminalNamingAnEnrolledKeyFailsAtH3AndCostsTheRetailerNothing) {
  // The rogue holds the real card (right K_RA) but not the enrolled device key; the relay rewrites
  // its H1 to name the enrolled terminal's public key, which is public.
  net.ste.identify(cardperso::testing::test_device_signer(0x11));
  const DeviceKey enrolled = cardperso::testing::test_device_signer()->public_key();
  net.hostile = [&](Hop hop, Frame& f) {
    if (hop == Hop::DtdToAds && f.header.type == static_cast<std::uint8_t>(MessageType::H1)) {
      auto h1 = HandshakeH1::decode(f.payload);
      h1->terminal = enrolled;
      f = make_frame(Channel::SteAds, 0, *h1);
    }
    return true;
  };
  net.start(kSerial, make_keys(0x00));
  expect_refused(net, ErrorCode::TerminalAuthFailed);
  EXPECT_TRUE(net.auth_failures.empty());
  EXPECT_EQ(first_of(MessageType::H4), nullptr);
}

TEST_F(HandshakeTest, TheSignatureIsCheckedBeforeTheRetailerCryptogram) {
  // A wrong card AND a forged signature: refused as a terminal failure, nothing counted.
  auto keys = make_keys(0x00);
  keys.k_ra[0] ^= 1;
  net.hostile = [&](Hop hop, Frame& f) {
    if (hop == Hop::DtdToAds && f.header.type == static_cast<std::uint8_t>(MessageType::H3)) f.payload[100] ^= 0x01;
    return true;
  };
  net.start(kSerial, std::move(keys));
  expect_refused(net, ErrorCode::TerminalAuthFailed);
  EXPECT_TRUE(net.auth_failures.empty());
}

TEST_F(HandshakeTest, H1NamesTheDeviceKeyAndH3CarriesItsSignatureOfT3) {
  net.start(kSerial, make_keys(0x00));
  ASSERT_EQ(net.ads_up.size(), 1u);
  const Frame* h1 = first_of(MessageType::H1);
  const Frame* h2 = first_of(MessageType::H2);
  const Frame* h3 = first_of(MessageType::H3);
  ASSERT_TRUE(h1 && h2 && h3);
  const auto device = cardperso::testing::test_device_signer();
  EXPECT_EQ(HandshakeH1::decode(h1->payload)->terminal, device->public_key());
  const auto m3 = HandshakeH3::decode(h3->payload);
  const auto t3 = transcript_h3({h1->payload, h2->header.session, h2->payload, m3->retailer_cryptogram});
  EXPECT_TRUE(transcript_signature_valid(device->public_key(), t3, m3->terminal_signature));
  EXPECT_EQ(m3->terminal_signature, sign_transcript(*device, t3));  // Ed25519 is deterministic
}

// Before authentication every refusal is the same frame, at the same time after the H1: unknown,
// revoked and locked cards, unenrolled, revoked and other retailers' terminals.
TEST(RefusalAtH1, OneAnswerForEveryReason) {
  std::set<Bytes> answers;
  const std::vector<std::function<void(Net&)>> reasons = {
      [](Net& n) { n.retailers.clear(); },
      [](Net& n) { n.retailers[kSerial].status = RetailerStatus::Revoked; },
      [](Net& n) { n.retailers[kSerial].status = RetailerStatus::Locked; },
      [](Net& n) { n.terminal_status = [](const LookupRetailer&) { return TerminalEnrolment::NotEnrolled; }; },
      [](Net& n) { n.terminal_status = [](const LookupRetailer&) { return TerminalEnrolment::Revoked; }; },
      [](Net& n) { n.terminal_status = [](const LookupRetailer&) { return TerminalEnrolment::OtherRetailer; }; }};
  for (const auto& make_it_so : reasons) {
    Net net;
    net.retailers[kSerial] = Retailer{RetailerStatus::Active, make_keys(0x00)};
    make_it_so(net);
    const TimePoint sent = net.now;
    net.start(kSerial, make_keys(0x00));
    ASSERT_EQ(net.ste_closed.size(), 1u);
    EXPECT_EQ(net.ste_closed[0].code, ErrorCode::NotAccepted);
    EXPECT_EQ(net.now - sent, Timeouts{}.refusal_floor);
    for (const auto& f : net.log)
      if (f.header.type == static_cast<std::uint8_t>(MessageType::Error)) answers.insert(encode_frame(f.header, f.payload));
  }
  EXPECT_EQ(answers.size(), 1u);
}

TEST_F(HandshakeTest, UnsupportedVersionIsRefused) {
  net.hostile = [](Hop hop, Frame& f) {
    if (hop == Hop::DtdToAds && f.header.type == static_cast<std::uint8_t>(MessageType::H1)) f.payload[0] = 9;
    return true;
  };
  net.start(kSerial, make_keys(0x00));
  expect_refused(net, ErrorCode::UnsupportedVersion);
}

// A terminal of version 1 (no ephemeral share) is told so, not handled as a malformed H1.
TEST_F(HandshakeTest, VersionOneH1IsRefusedByName) {
  net.hostile = [](Hop hop, Frame& f) {
    if (hop == Hop::DtdToAds && f.header.type == static_cast<std::uint8_t>(MessageType::H1)) {
      f.payload[0] = 1;
      f.payload.resize(f.payload.size() - 32);  // the v1 layout: no key share
      f.header.length = static_cast<std::uint32_t>(f.payload.size());
    }
    return true;
  };
  net.start(kSerial, make_keys(0x00));
  expect_refused(net, ErrorCode::UnsupportedVersion);
  EXPECT_NE(net.ads_closed[0].reason.find("forward secrecy"), std::string::npos) << net.ads_closed[0].reason;
  EXPECT_FALSE(sent_to_ste(MessageType::H2));
}

// A relay that swaps a key share for one of small order would know the X25519 secret (zero): both
// ends refuse such a share before any key is derived.
TEST_F(HandshakeTest, SmallOrderKeySharesAreRefused) {
  for (auto type : {MessageType::H1, MessageType::H2}) {
    SCOPED_TRACE(static_cast<int>(type));
    Net n;
    n.retailers[kSerial] = Retailer{RetailerStatus::Active, make_keys(0x00)};
    n.hostile = [type](Hop hop, Frame& f) {
      const auto want = type == MessageType::H1 ? Hop::DtdToAds : Hop::DtdToSte;
      // The share is H2's last field, and H1's last but one (the device key follows it).
      const auto share_end = f.payload.end() - (type == MessageType::H1 ? 32 : 0);
      if (hop == want && f.header.type == static_cast<std::uint8_t>(type))
        std::fill(share_end - 32, share_end, std::uint8_t{0});
      return true;
    };
    n.start(kSerial, make_keys(0x00));
    expect_refused(n, ErrorCode::BadFrame);
    EXPECT_EQ(std::count(n.types_to_ste.begin(), n.types_to_ste.end(), static_cast<std::uint8_t>(MessageType::H4)), 0);
  }
}

// Every session draws fresh shares: no two H1s or H2s carry the same one.
TEST_F(HandshakeTest, EverySessionHasFreshKeyShares) {
  std::set<Bytes> shares;
  for (int i = 0; i < 4; ++i) {
    Net n;
    n.retailers[kSerial] = Retailer{RetailerStatus::Active, make_keys(0x00)};
    n.start(kSerial, make_keys(0x00));
    ASSERT_EQ(n.ste_up.size(), 1u);
    for (const auto& f : n.log)
      if (f.header.type == static_cast<std::uint8_t>(MessageType::H1))
        shares.insert(Bytes(f.payload.end() - 64, f.payload.end() - 32));  // the device key comes last
      else if (f.header.type == static_cast<std::uint8_t>(MessageType::H2))
        shares.insert(Bytes(f.payload.end() - 32, f.payload.end()));
  }
  EXPECT_EQ(shares.size(), 8u);
}

TEST_F(HandshakeTest, WrongRetailerKeyFailsAndTheAdsNeverSendsH4) {
  auto keys = make_keys(0x00);
  keys.k_ra[0] ^= 1;
  net.start(kSerial, std::move(keys));
  expect_refused(net, ErrorCode::RetailerAuthFailed);
  EXPECT_FALSE(sent_to_ste(MessageType::H4));
  EXPECT_EQ(first_of(MessageType::H4), nullptr);
  ASSERT_EQ(net.auth_failures.size(), 1u);
  EXPECT_EQ(net.auth_failures[0].serial, kSerial);
}

TEST_F(HandshakeTest, WrongIssuerKeyAtTheAdsIsRefusedByTheSte) {
  net.retailers[kSerial].keys.k_ia[5] ^= 0x80;
  net.start(kSerial, make_keys(0x00));
  // The ADS cannot tell (it sent H4 believing it is the issuer); the STE refuses and tells it.
  ASSERT_EQ(net.ste_closed.size(), 1u);
  EXPECT_EQ(net.ste_closed[0].code, ErrorCode::IssuerAuthFailed);
  EXPECT_TRUE(net.ste_up.empty());
  EXPECT_TRUE(net.dtd_up.empty());  // SK_D never handed over
  ASSERT_EQ(net.ads_closed.size(), 1u);
  EXPECT_EQ(net.ads_closed[0].code, ErrorCode::IssuerAuthFailed);
  EXPECT_EQ(net.ads->state(), AdsHandshake::State::Closed);
  EXPECT_NE(net.ste_closed[0].reason.find("the server is not the issuer"), std::string::npos);
  EXPECT_TRUE(net.auth_failures.empty());
  EXPECT_FALSE(net.ste.holds_long_term_keys());
}

TEST_F(HandshakeTest, RelaySteeringTheSessionKeyIsCaughtByTheSignedTranscript) {
  // The relay shifts RN4 (towards the ADS) and RN3 (towards the STE) by the same mask, so both sides
  // still compute the same SK_S = AES_K_S(RN3 XOR RN4), the XOR a relay can choose. The transcripts
  // differ, so the terminal's signature (checked first) fails and no H4 is ever produced.
  const std::uint8_t mask = 0x5a;
  net.hostile = [&](Hop hop, Frame& f) {
    if (hop == Hop::DtdToAds && f.header.type == static_cast<std::uint8_t>(MessageType::H1)) {
      f.payload[3 + kSerial.size() + 16] ^= mask;  // first byte of RN4
    }
    if (hop == Hop::DtdToSte && f.header.type == static_cast<std::uint8_t>(MessageType::H2)) {
      f.payload[4 + 16] ^= mask;  // first byte of RN3
    }
    return true;
  };
  net.start(kSerial, make_keys(0x00));
  expect_refused(net, ErrorCode::TerminalAuthFailed);
  EXPECT_FALSE(sent_to_ste(MessageType::H4));
  EXPECT_TRUE(net.auth_failures.empty());  // the retailer card itself was genuine
}

TEST_F(HandshakeTest, TamperedRn3AloneIsCaught) {
  net.hostile = [&](Hop hop, Frame& f) {
    if (hop == Hop::DtdToSte && f.header.type == static_cast<std::uint8_t>(MessageType::H2)) f.payload[30] ^= 1;
    return true;
  };
  net.start(kSerial, make_keys(0x00));
  expect_refused(net, ErrorCode::TerminalAuthFailed);
}

// The confirmations are not in T3: a relay that changes one meets the key confirmation instead.
TEST_F(HandshakeTest, TamperedSteConfirmationIsCaughtByKeyConfirmation) {
  net.hostile = [&](Hop hop, Frame& f) {
    if (hop == Hop::DtdToAds && f.header.type == static_cast<std::uint8_t>(MessageType::H3)) f.payload[16] ^= 1;
    return true;
  };
  net.start(kSerial, make_keys(0x00));
  expect_refused(net, ErrorCode::KeyConfirmationFailed);
  EXPECT_TRUE(net.auth_failures.empty());
}

TEST_F(HandshakeTest, TamperedAdsConfirmationIsCaughtByTheSte) {
  net.hostile = [&](Hop hop, Frame& f) {
    if (hop == Hop::DtdToSte && f.header.type == static_cast<std::uint8_t>(MessageType::H4)) f.payload[40] ^= 1;
    return true;
  };
  net.start(kSerial, make_keys(0x00));
  ASSERT_EQ(net.ste_closed.size(), 1u);
  EXPECT_EQ(net.ste_closed[0].code, ErrorCode::KeyConfirmationFailed);
  EXPECT_TRUE(net.ste_up.empty());
  EXPECT_TRUE(net.dtd_up.empty());  // no SK_D handover
  // The ADS had established, and ends the session when the STE's Error arrives.
  ASSERT_EQ(net.ads_closed.size(), 1u);
  EXPECT_EQ(net.ads_closed[0].code, ErrorCode::KeyConfirmationFailed);
}

TEST_F(HandshakeTest, ReflectedChallengeDoesNotYieldAnIssuerAnswer) {
  // A hostile relay puts the STE's own RN2 where RN1 belongs, takes the STE's answer
  // AES_K_RA(RN2) from H3 and plays it back as the issuer's AES_K_IA(RN2) in a forged H4.
  Block16 rn2{};
  std::optional<Frame> h3;
  net.hostile = [&](Hop hop, Frame& f) {
    const auto t = static_cast<MessageType>(f.header.type);
    if (hop == Hop::DtdToAds && t == MessageType::H1) std::copy_n(f.payload.begin() + 3 + kSerial.size(), 16, rn2.begin());
    if (hop == Hop::DtdToSte && t == MessageType::H2) std::copy(rn2.begin(), rn2.end(), f.payload.begin() + 4);
    if (hop == Hop::DtdToAds && t == MessageType::H3) {
      h3 = f;
      return false;  // keep it from the ADS
    }
    return true;
  };
  net.start(kSerial, make_keys(0x00));
  ASSERT_TRUE(h3);
  auto stolen = HandshakeH3::decode(h3->payload);
  ASSERT_TRUE(stolen);
  // The cryptograms use different keys: the STE's answer is not the issuer's.
  auto keys = make_keys(0x00);
  EXPECT_EQ(stolen->retailer_cryptogram, retailer_cryptogram(keys.k_ra, rn2));
  EXPECT_NE(stolen->retailer_cryptogram, issuer_cryptogram(keys.k_ia, rn2));
  HandshakeH4 forged{stolen->retailer_cryptogram, stolen->confirm_s, stolen->confirm_d};
  net.from_ste(net.ste.on_frame(make_frame(Channel::SteAds, h3->header.session, forged), net.now));
  ASSERT_EQ(net.ste_closed.size(), 1u);
  EXPECT_EQ(net.ste_closed[0].code, ErrorCode::IssuerAuthFailed);
  EXPECT_TRUE(net.ste_up.empty());
}

TEST_F(HandshakeTest, ReplayedH3FromAnEarlierSessionFails) {
  std::optional<Frame> old_h3;
  net.hostile = [&](Hop hop, Frame& f) {
    if (hop == Hop::DtdToAds && f.header.type == static_cast<std::uint8_t>(MessageType::H3)) old_h3 = f;
    return true;
  };
  net.start(kSerial, make_keys(0x00));
  ASSERT_TRUE(old_h3);
  net.from_ste(net.ste.terminate());

  // Second session: the relay swallows the genuine H3 and replays the recorded one instead,
  // relabelled with the new session id.
  net.ste = SteHandshake{};
  net.ste.pair(cardperso::testing::test_pairing_key());
  net.ste.identify(cardperso::testing::test_device_signer());
  net.hostile = [&](Hop hop, Frame& f) {
    if (hop == Hop::DtdToAds && f.header.type == static_cast<std::uint8_t>(MessageType::H3)) {
      auto replay = *old_h3;
      replay.header.session = f.header.session;
      f = replay;
    }
    return true;
  };
  net.start(kSerial, make_keys(0x00));
  ASSERT_EQ(net.ads_closed.size(), 2u);
  // The recorded signature covers the old transcript: refused before the cryptogram, nothing counted.
  EXPECT_EQ(net.ads_closed[1].code, ErrorCode::TerminalAuthFailed);
  EXPECT_EQ(net.ads_up.size(), 1u);
  EXPECT_TRUE(net.auth_failures.empty());
}

TEST_F(HandshakeTest, H3ForAnotherSessionIsRefused) {
  net.hostile = [&](Hop hop, Frame& f) {
    if (hop == Hop::DtdToAds && f.header.type == static_cast<std::uint8_t>(MessageType::H3)) f.header.session += 1;
    return true;
  };
  net.start(kSerial, make_keys(0x00));
  ASSERT_EQ(net.ads_closed.size(), 1u);
  EXPECT_EQ(net.ads_closed[0].code, ErrorCode::UnknownSession);
}

TEST_F(HandshakeTest, TamperedSealedFrameEndsTheSessionEverywhere) {
  net.start(kSerial, make_keys(0x00));
  net.hostile = [&](Hop hop, Frame& f) {
    if (hop == Hop::DtdToAds && (f.header.flags & kFlagSealed)) f.payload[10] ^= 1;
    return true;
  };
  net.from_ste(net.ste.send(MessageType::Echo, bytes_of("card data"), net.now));
  EXPECT_TRUE(net.ads_got.empty());
  ASSERT_EQ(net.ads_closed.size(), 1u);
  EXPECT_EQ(net.ads_closed[0].code, ErrorCode::DecryptFailed);
  ASSERT_EQ(net.ste_closed.size(), 1u);
  EXPECT_EQ(net.ste_closed[0].code, ErrorCode::DecryptFailed);
  ASSERT_EQ(net.dtd_closed.size(), 1u);
  EXPECT_EQ(net.dtd_closed[0].code, ErrorCode::DecryptFailed);
}

TEST_F(HandshakeTest, ReplayedSealedFrameIsCounterOutOfOrder) {
  net.start(kSerial, make_keys(0x00));
  std::optional<Frame> seen;
  net.hostile = [&](Hop hop, Frame& f) {
    if (hop == Hop::DtdToAds && (f.header.flags & kFlagSealed)) {
      if (seen) f = *seen;
      else seen = f;
    }
    return true;
  };
  net.from_ste(net.ste.send(MessageType::Echo, bytes_of("one"), net.now));
  net.from_ste(net.ste.send(MessageType::Echo, bytes_of("two"), net.now));
  ASSERT_EQ(net.ads_got.size(), 1u);
  ASSERT_EQ(net.ads_closed.size(), 1u);
  EXPECT_EQ(net.ads_closed[0].code, ErrorCode::CounterOutOfOrder);
}

TEST_F(HandshakeTest, UnexpectedMessageIsRefused) {
  net.start(kSerial, make_keys(0x00));
  // A second H1 in the middle of an established session.
  HandshakeH1 h1;
  h1.serial = kSerial;
  net.from_dtd({SendFrame{Peer::Ads, make_frame(Channel::SteAds, net.ads->session(), h1)}});
  ASSERT_EQ(net.ads_closed.size(), 1u);
  EXPECT_EQ(net.ads_closed[0].code, ErrorCode::UnexpectedMessage);
}

TEST(HandshakeTimeouts, AdsHandshakeDeadline) {
  Net net(Timeouts{10s, 60s});
  net.answer_lookups = false;  // the lookup never returns
  net.start(kSerial, make_keys(0x00));
  ASSERT_TRUE(net.ads);
  ASSERT_TRUE(net.ads->deadline());
  EXPECT_EQ(*net.ads->deadline(), net.now + 30s);  // the ADS core was built with default timeouts
  EXPECT_TRUE(net.ads->on_timeout(net.now + 29s).empty());
  net.from_ads(net.ads->on_timeout(net.now + 30s));
  ASSERT_EQ(net.ads_closed.size(), 1u);
  EXPECT_EQ(net.ads_closed[0].code, ErrorCode::Timeout);
  ASSERT_EQ(net.ste_closed.size(), 1u);  // the STE hears about it
  EXPECT_EQ(net.ste_closed[0].code, ErrorCode::Timeout);
  // A late lookup answer does nothing.
  EXPECT_TRUE(net.ads->on_retailer_lookup({}, net.now + 31s).empty());
}

TEST(HandshakeTimeouts, SteHandshakeDeadline) {
  Net net(Timeouts{10s, 60s});
  net.answer_lookups = false;
  net.start(kSerial, make_keys(0x00));
  ASSERT_TRUE(net.ste.deadline());
  EXPECT_EQ(*net.ste.deadline(), net.now + 10s);
  EXPECT_TRUE(net.ste.on_timeout(net.now + 9s).empty());
  auto actions = net.ste.on_timeout(net.now + 10s);
  const auto* close = find_action<Close>(actions);
  ASSERT_NE(close, nullptr);
  EXPECT_EQ(close->code, ErrorCode::Timeout);
  EXPECT_NE(find_action<SendFrame>(actions), nullptr);  // an Error frame tells the ADS
  EXPECT_FALSE(net.ste.holds_long_term_keys());
}

TEST(HandshakeTimeouts, IdleSessionTimesOut) {
  Net net(Timeouts{10s, 60s});
  net.retailers[kSerial] = Retailer{RetailerStatus::Active, make_keys(0x00)};
  net.start(kSerial, make_keys(0x00));
  ASSERT_EQ(net.ste_up.size(), 1u);
  EXPECT_EQ(*net.ste.deadline(), net.now + 60s);
  net.now += 30s;
  net.from_ste(net.ste.send(MessageType::Echo, bytes_of("keeps it alive"), net.now));
  EXPECT_EQ(*net.ste.deadline(), net.now + 60s);
  // The ADS (default idle of 15 minutes) times out and tells both the STE and the DTD.
  net.from_ads(net.ads->on_timeout(net.now + 15min));
  ASSERT_EQ(net.ads_closed.size(), 1u);
  EXPECT_EQ(net.ads_closed[0].code, ErrorCode::Timeout);
  ASSERT_EQ(net.ste_closed.size(), 1u);
  ASSERT_EQ(net.dtd_closed.size(), 1u);
  EXPECT_EQ(net.dtd_closed[0].code, ErrorCode::Timeout);
}

TEST(SteStart, AnUnpairedTerminalSendsNothing) {
  SteHandshake ste;
  auto a = ste.start("123", 1, make_keys(0), TimePoint{});
  const auto* closed = find_action<Close>(a);
  ASSERT_NE(closed, nullptr);
  EXPECT_NE(closed->reason.find("not paired"), std::string::npos) << closed->reason;
  EXPECT_EQ(find_action<SendFrame>(a), nullptr);
}

TEST(SteStart, ATerminalWithoutADeviceKeySendsNothing) {
  SteHandshake ste;
  ste.pair(cardperso::testing::test_pairing_key());
  auto a = ste.start("123", 1, make_keys(0), TimePoint{});
  const auto* closed = find_action<Close>(a);
  ASSERT_NE(closed, nullptr);
  EXPECT_NE(closed->reason.find("no device key"), std::string::npos) << closed->reason;
  EXPECT_EQ(find_action<SendFrame>(a), nullptr);
}

TEST(SteStart, RefusesABadCardSerialOrKeys) {
  SteHandshake ste;
  auto a = ste.start("12ab", 1, make_keys(0), TimePoint{});
  ASSERT_NE(find_action<Close>(a), nullptr);
  EXPECT_EQ(find_action<SendFrame>(a), nullptr);
  SteHandshake ste2;
  RetailerKeys partial = make_keys(0);
  partial.k_d.wipe();
  auto b = ste2.start("123", 1, std::move(partial), TimePoint{});
  ASSERT_NE(find_action<Close>(b), nullptr);
}

namespace {
// A handshake as the DTD relays it (H1 and H3 from the STE, H2 and H4 from the ADS), and the T4 its
// frames give: what a genuine L1 for that session names.
TranscriptHash relay_handshake(DtdRelay& dtd, std::uint32_t session, std::uint8_t seed) {
  HandshakeH1 h1;
  h1.serial = "8944001";
  h1.rn2.fill(seed);
  HandshakeH2 h2{session, {}, {}, {}, {}};
  h2.rn1.fill(static_cast<std::uint8_t>(seed + 1));
  HandshakeH3 h3{};
  h3.retailer_cryptogram.fill(static_cast<std::uint8_t>(seed + 2));
  HandshakeH4 h4{};
  h4.issuer_cryptogram.fill(static_cast<std::uint8_t>(seed + 3));
  const auto f1 = make_frame(Channel::SteAds, 0, h1), f2 = make_frame(Channel::SteAds, session, h2);
  (void)dtd.on_ste_frame(f1);
  (void)dtd.on_ads_frame(f2);
  (void)dtd.on_ste_frame(make_frame(Channel::SteAds, session, h3));
  (void)dtd.on_ads_frame(make_frame(Channel::SteAds, session, h4));
  return transcript_h4({f1.payload, session, f2.payload, h3.retailer_cryptogram}, h4.issuer_cryptogram);
}
Frame handover_frame(std::uint32_t session, std::uint8_t key_byte, const TranscriptHash& t4,
                     const SecretBytes& pairing_key = cardperso::testing::test_pairing_key()) {
  SessionKeyHandover l1;
  l1.session = session;
  l1.transcript_hash = t4;
  auto f = make_frame(Channel::LinkControl, session, l1);
  const Bytes sealed = seal_sk_d(pairing_key, f.header, t4, SecretBytes(Bytes(16, key_byte)));
  std::copy(sealed.begin(), sealed.end(), f.payload.end() - static_cast<std::ptrdiff_t>(kSealedSkDSize));
  return f;
}
template <class T>
const T* find_in(const Actions& actions) {
  for (const auto& a : actions)
    if (const auto* t = std::get_if<T>(&a)) return t;
  return nullptr;
}
}  // namespace

// A second L1 for the same handshake (replayed from the local link) is refused: taking it would
// restart channel 2's counters under the same SK_D and repeat AES-GCM nonces. The session it would
// have restarted ends at both ends, and the same L1 stays refused afterwards.
TEST(DtdRelayHandover, ASecondL1IsRefusedAndNoNonceRepeats) {
  DtdRelay dtd;
  dtd.pair(cardperso::testing::test_pairing_key());
  const auto t4 = relay_handshake(dtd, 7, 0x10);
  auto first = dtd.on_ste_frame(handover_frame(7, 0x42, t4));
  ASSERT_NE(find_in<SessionEstablished>(first), nullptr);
  std::set<std::uint64_t> counters;
  for (int i = 0; i < 3; ++i) {
    auto sent = dtd.send(MessageType::Echo, Bytes{1, 2, 3});
    const auto* f = find_in<SendFrame>(sent);
    ASSERT_NE(f, nullptr);
    EXPECT_TRUE(counters.insert(get_u64(f->frame.payload, 0)).second) << "a counter (nonce) repeated";
  }

  auto second = dtd.on_ste_frame(handover_frame(7, 0x42, t4));  // the same L1 again
  EXPECT_EQ(find_in<SessionEstablished>(second), nullptr);
  const auto* closed = find_in<Close>(second);
  ASSERT_NE(closed, nullptr);
  EXPECT_EQ(closed->code, ErrorCode::UnexpectedMessage);
  EXPECT_NE(closed->reason.find("second SK_D handover"), std::string::npos) << closed->reason;
  std::set<Peer> told;
  for (const auto& a : second)
    if (const auto* f = std::get_if<SendFrame>(&a)) told.insert(f->to);
  EXPECT_EQ(told, (std::set<Peer>{Peer::Ste, Peer::Ads})) << "both ends hear that the session is over";
  EXPECT_EQ(dtd.state(), DtdRelay::State::Relaying);
  EXPECT_THROW((void)dtd.send(MessageType::Echo, Bytes{1}), std::logic_error);

  auto third = dtd.on_ste_frame(handover_frame(7, 0x43, t4));  // and once the session is over, too
  EXPECT_EQ(find_in<SessionEstablished>(third), nullptr);
  EXPECT_EQ(dtd.state(), DtdRelay::State::Relaying);

  // Even the same session id again: a new handshake takes its own L1; the old one stays refused, and
  // refusing it ends (burns) the new handshake too.
  const auto t4_b = relay_handshake(dtd, 8, 0x20);
  EXPECT_NE(find_in<SessionEstablished>(dtd.on_ste_frame(handover_frame(8, 0x44, t4_b))), nullptr);
  const auto t4_c = relay_handshake(dtd, 7, 0x30);
  EXPECT_EQ(find_in<SessionEstablished>(dtd.on_ste_frame(handover_frame(7, 0x42, t4))), nullptr);
  EXPECT_EQ(find_in<SessionEstablished>(dtd.on_ste_frame(handover_frame(7, 0x45, t4_c))), nullptr)
      << "a handshake whose session was ended by a refused L1 came up anyway";
}

// An L1 naming another handshake than the one the DTD relayed is refused, and the relayed one is
// then burnt as well: an injected L1 cannot race the genuine one into place.
TEST(DtdRelayHandover, AnL1ForAnotherHandshakeIsRefused) {
  DtdRelay dtd;
  dtd.pair(cardperso::testing::test_pairing_key());
  const auto t4 = relay_handshake(dtd, 7, 0x10);
  TranscriptHash other = t4;
  other[0] ^= 1;
  auto forged = dtd.on_ste_frame(handover_frame(7, 0x42, other));
  EXPECT_EQ(find_in<SessionEstablished>(forged), nullptr);
  const auto* closed = find_in<Close>(forged);
  ASSERT_NE(closed, nullptr);
  EXPECT_NE(closed->reason.find("names another handshake"), std::string::npos) << closed->reason;
  EXPECT_EQ(find_in<SessionEstablished>(dtd.on_ste_frame(handover_frame(7, 0x42, t4))), nullptr);
  // A fresh handshake is unaffected.
  const auto t4_b = relay_handshake(dtd, 9, 0x50);
  EXPECT_NE(find_in<SessionEstablished>(dtd.on_ste_frame(handover_frame(9, 0x42, t4_b))), nullptr);
}

// L1 on the local link: SK_D sealed under the pairing key and T4. Its bytes hold no run of SK_D; a
// DTD paired with another terminal, or an L1 altered in any byte, opens nothing and takes nothing.
TEST(DtdRelayHandover, L1CarriesNoKeyInClearAndOpensOnlyAtItsPairedDtd) {
  DtdRelay stranger;
  stranger.pair(SecretBytes(Bytes(16, 0x77)));
  const auto t4_stranger = relay_handshake(stranger, 9, 0x30);
  const Frame l1 = handover_frame(9, 0x42, t4_stranger);
  const Bytes sk_d(16, 0x42);
  EXPECT_EQ(std::search(l1.payload.begin(), l1.payload.end(), sk_d.begin(), sk_d.begin() + 4), l1.payload.end());
  EXPECT_EQ(find_in<SessionEstablished>(stranger.on_ste_frame(l1)), nullptr);
  EXPECT_EQ(stranger.state(), DtdRelay::State::Relaying);

  for (std::size_t at = 0; at < SessionKeyHandover::kSize; ++at) {
    DtdRelay dtd;
    dtd.pair(cardperso::testing::test_pairing_key());
    const auto t4 = relay_handshake(dtd, 9, 0x30);
    Frame altered = handover_frame(9, 0x42, t4);
    altered.payload[at] ^= 0x01;
    EXPECT_EQ(find_in<SessionEstablished>(dtd.on_ste_frame(altered)), nullptr) << "payload byte " << at;
  }
  DtdRelay dtd;  // the control: the same L1 unaltered comes up
  dtd.pair(cardperso::testing::test_pairing_key());
  const auto t4 = relay_handshake(dtd, 9, 0x30);
  EXPECT_NE(find_in<SessionEstablished>(dtd.on_ste_frame(handover_frame(9, 0x42, t4))), nullptr);
}
