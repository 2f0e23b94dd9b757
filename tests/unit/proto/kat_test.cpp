// Known-answer vectors computed independently by proto/kat/make_vectors.py (python3-cryptography)
// from proto/PROTOCOL.md, checked against the C++ implementation.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>

#include "cardperso/common/crypto.hpp"
#include "cardperso/proto/session_keys.hpp"
#include "harness.hpp"

using namespace cardperso;
using namespace cardperso::proto;
using namespace cardperso::proto::testing;

namespace {

std::map<std::string, Bytes> load_vectors() {
  std::ifstream in(CARDPERSO_PROTO_KAT_FILE);
  if (!in) throw std::runtime_error("cannot open " CARDPERSO_PROTO_KAT_FILE);
  std::map<std::string, Bytes> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const auto eq = line.find(" = ");
    if (eq == std::string::npos) throw std::runtime_error("bad vector line: " + line);
    out[line.substr(0, eq)] = hex(line.substr(eq + 3));
  }
  return out;
}

struct Kat : ::testing::Test {
  std::map<std::string, Bytes> v = load_vectors();
  SecretBytes key(const char* name) { return SecretBytes(v.at(name)); }
  Block16 block(const char* name) {
    Block16 b{};
    const auto& bytes = v.at(name);
    if (bytes.size() != 16) throw std::runtime_error(std::string(name) + " is not 16 bytes");
    std::copy(bytes.begin(), bytes.end(), b.begin());
    return b;
  }
  TranscriptHash th(const char* name) {
    TranscriptHash t{};
    std::copy(v.at(name).begin(), v.at(name).end(), t.begin());
    return t;
  }
  RetailerKeys keys() { return RetailerKeys{key("k_ra"), key("k_ia"), key("k_s"), key("k_d")}; }
  std::string serial() { return std::string(v.at("serial").begin(), v.at("serial").end()); }
};

}  // namespace

TEST_F(Kat, FileIsComplete) { EXPECT_EQ(v.size(), 39u); }

TEST_F(Kat, MessageLayouts) {
  HandshakeH1 h1;
  h1.key_version = v.at("key_version")[0];
  h1.serial = serial();
  h1.rn2 = block("rn2");
  h1.rn4 = block("rn4");
  h1.rn6 = block("rn6");
  std::copy_n(v.at("share_ste").begin(), h1.share.size(), h1.share.begin());
  std::copy_n(v.at("device_public").begin(), h1.terminal.size(), h1.terminal.begin());
  EXPECT_EQ(to_hex(h1.encode()), to_hex(v.at("h1_payload")));
  HandshakeH2 h2{get_u32(v.at("session"), 0), block("rn1"), block("rn3"), block("rn5"), {}};
  std::copy_n(v.at("share_ads").begin(), h2.share.size(), h2.share.begin());
  EXPECT_EQ(to_hex(h2.encode()), to_hex(v.at("h2_payload")));
}

TEST_F(Kat, KeySchedule) {
  EXPECT_EQ(to_hex(retailer_cryptogram(key("k_ra"), v.at("rn1"))), to_hex(v.at("retailer_cryptogram")));
  EXPECT_EQ(to_hex(issuer_cryptogram(key("k_ia"), v.at("rn2"))), to_hex(v.at("issuer_cryptogram")));
  EXPECT_EQ(to_hex(derive_session_key(key("k_s"), v.at("rn3"), v.at("rn4")).view()), to_hex(v.at("input_s")));
  EXPECT_EQ(to_hex(derive_session_key(key("k_d"), v.at("rn5"), v.at("rn6")).view()), to_hex(v.at("input_d")));
  EXPECT_EQ(to_hex(crypto::x25519_public(key("e_ste"))), to_hex(v.at("share_ste")));
  EXPECT_EQ(to_hex(crypto::x25519_public(key("e_ads"))), to_hex(v.at("share_ads")));
  auto z = crypto::x25519_shared(key("e_ste"), v.at("share_ads"));
  ASSERT_TRUE(z);
  EXPECT_EQ(to_hex(z->view()), to_hex(v.at("x25519_secret")));
  TranscriptInputs in{v.at("h1_payload"), get_u32(v.at("session"), 0), v.at("h2_payload"), {}};
  const auto t2 = transcript_h2(in);
  EXPECT_EQ(to_hex(t2), to_hex(v.at("transcript_h2")));
  EXPECT_EQ(to_hex(session_key(ConfirmedKey::SkS, key("input_s"), *z, t2).view()), to_hex(v.at("sk_s")));
  EXPECT_EQ(to_hex(session_key(ConfirmedKey::SkD, key("input_d"), *z, t2).view()), to_hex(v.at("sk_d")));
}

TEST_F(Kat, TranscriptAndConfirmations) {
  TranscriptInputs in{v.at("h1_payload"), get_u32(v.at("session"), 0), v.at("h2_payload"),
                      v.at("retailer_cryptogram")};
  const auto th3 = transcript_h3(in);
  const auto th4 = transcript_h4(in, v.at("issuer_cryptogram"));
  EXPECT_EQ(to_hex(th3), to_hex(v.at("transcript_h3")));
  EXPECT_EQ(to_hex(th4), to_hex(v.at("transcript_h4")));
  EXPECT_EQ(to_hex(key_confirmation(key("sk_s"), ConfirmedKey::SkS, Confirmer::Ste, th3)), to_hex(v.at("confirm_s_ste")));
  EXPECT_EQ(to_hex(key_confirmation(key("sk_d"), ConfirmedKey::SkD, Confirmer::Ste, th3)), to_hex(v.at("confirm_d_ste")));
  EXPECT_EQ(to_hex(key_confirmation(key("sk_s"), ConfirmedKey::SkS, Confirmer::Ads, th4)), to_hex(v.at("confirm_s_ads")));
  EXPECT_EQ(to_hex(key_confirmation(key("sk_d"), ConfirmedKey::SkD, Confirmer::Ads, th4)), to_hex(v.at("confirm_d_ads")));
  const crypto::Ed25519Signer device(key("device_key"));
  EXPECT_EQ(to_hex(device.public_key()), to_hex(v.at("device_public")));
  EXPECT_EQ(to_hex(sign_transcript(device, th3)), to_hex(v.at("terminal_signature")));
}

TEST_F(Kat, FirstSealedFrames) {
  FrameHeader h;
  h.channel = Channel::SteAds;
  h.type = static_cast<std::uint8_t>(MessageType::Echo);
  h.session = get_u32(v.at("session"), 0);
  SecureChannel ste(key("sk_s"), th("transcript_h4"), Direction::SteToAds, Direction::AdsToSte);
  auto f = ste.seal(h, v.at("echo_plaintext"));
  ASSERT_TRUE(f);
  EXPECT_EQ(to_hex(encode_frame(f->header, f->payload)), to_hex(v.at("sealed_ste_to_ads")));
  h.channel = Channel::DtdAds;
  SecureChannel dtd(key("sk_d"), th("transcript_h4"), Direction::DtdToAds, Direction::AdsToDtd);
  auto g = dtd.seal(h, v.at("echo_plaintext"));
  ASSERT_TRUE(g);
  EXPECT_EQ(to_hex(encode_frame(g->header, g->payload)), to_hex(v.at("sealed_dtd_to_ads")));
}

TEST_F(Kat, TheCoresReproduceTheVectors) {
  QueuedRandom ste_random, ads_random;
  *ste_random.queue = {v.at("rn2"), v.at("rn4"), v.at("rn6"), v.at("e_ste")};
  *ads_random.queue = {v.at("rn1"), v.at("rn3"), v.at("rn5"), v.at("e_ads")};
  Net net(Timeouts{}, ste_random.source());
  net.ads_random = ads_random.source();
  net.next_session = get_u32(v.at("session"), 0);
  net.retailers[serial()] = Retailer{RetailerStatus::Active, keys()};
  net.ste.identify(std::make_shared<const crypto::Ed25519Signer>(key("device_key")));
  const Bytes device_public = v.at("device_public");
  net.terminal_status = [device_public](const LookupRetailer& l) {
    return std::equal(l.terminal.begin(), l.terminal.end(), device_public.begin(), device_public.end())
               ? TerminalEnrolment::Active
               : TerminalEnrolment::NotEnrolled;
  };
  net.start(serial(), keys(), v.at("key_version")[0]);
  ASSERT_EQ(net.ads_up.size(), 1u);
  ASSERT_EQ(net.ste_up.size(), 1u);
  EXPECT_EQ(to_hex(*net.ads->transcript()), to_hex(v.at("transcript_h4")));
  std::map<std::uint8_t, Bytes> payload;
  for (const auto& f : net.log) payload.emplace(f.header.type, f.payload);
  EXPECT_EQ(to_hex(payload.at(0x11)), to_hex(v.at("h1_payload")));
  EXPECT_EQ(to_hex(payload.at(0x12)), to_hex(v.at("h2_payload")));
  EXPECT_EQ(to_hex(payload.at(0x13)),
            to_hex(concat({v.at("retailer_cryptogram"), v.at("confirm_s_ste"), v.at("confirm_d_ste"),
                           v.at("terminal_signature")})));
  EXPECT_EQ(to_hex(payload.at(0x14)),
            to_hex(concat({v.at("issuer_cryptogram"), v.at("confirm_s_ads"), v.at("confirm_d_ads")})));
  const std::size_t before = net.log.size();
  net.from_ste(net.ste.send(MessageType::Echo, v.at("echo_plaintext"), net.now));
  ASSERT_GT(net.log.size(), before);
  EXPECT_EQ(to_hex(encode_frame(net.log[before].header, net.log[before].payload)), to_hex(v.at("sealed_ste_to_ads")));
  const std::size_t mid = net.log.size();
  net.from_dtd(net.dtd.send(MessageType::Echo, v.at("echo_plaintext")));
  ASSERT_GT(net.log.size(), mid);
  EXPECT_EQ(to_hex(encode_frame(net.log[mid].header, net.log[mid].payload)), to_hex(v.at("sealed_dtd_to_ads")));
  ASSERT_EQ(net.ads_got.size(), 2u);
}
