// "Secure session" end to end: adsctl + card-sim + ads-server + dtd-agent + ste-firmware as real
// processes, real pcscd/vpcd, real TCP, real SQLite. Each case runs in its own pcsc-sandbox.
// Every case checks the STE display, the ADS log and that no session row is left open.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <cstdlib>
#include <iostream>
#include <fstream>
#include <thread>

#include "cardperso/common/crypto.hpp"
#include "cardperso/proto/frame.hpp"
#include "cardperso/proto/pairing.hpp"
#include "cardperso/testing/frame_proxy.hpp"
#include "cardperso/testing/hold_after.hpp"
#include "secure_session_fixture.hpp"
#include "silent_ads.hpp"

using namespace cardperso;
using namespace cardperso::e2e;
using namespace std::chrono_literals;
using cardperso::testing::Direction;
using cardperso::testing::FrameProxy;
using cardperso::testing::FrameRef;
using cardperso::testing::HoldAfter;
using cardperso::testing::split_frames;

namespace {

constexpr std::uint8_t kLinkControl = 0;
constexpr std::uint8_t kSessionKeyHandover = 0x05;
constexpr std::uint8_t kEcho = 0x29;
constexpr std::uint8_t kTerminate = 0x28;

class SecureSession : public SecureSessionFixture {
 protected:
  void expect_no_open_session() {
    EXPECT_TRUE(wait_no_open_session(10s)) << "a session row still has ended_at NULL";
  }

  // A TCP port on 127.0.0.1 with nobody listening (private network namespace: nobody takes it).
  static int closed_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    ::close(fd);
    return ntohs(addr.sin_port);
  }

  static std::regex log_re(const std::string& text) { return std::regex(text); }

  // The ADS refuses the retailer at sign-on: the STE exits 2 showing why, the ADS logs why, and no
  // session is left open, let alone completed.
  // A refusal at H1: the terminal shows the one answer every such refusal gets; the ADS's log says why.
  void expect_refused_at_sign_on(int dtd, const std::string& serial, const std::string& reason) {
    EXPECT_EQ(run_ste(dtd, {}), 2) << display_text();
    expect_display_in_order({"Signed on: retailer " + serial, "Refused: not accepted by the issuer"});
    EXPECT_FALSE(displayed("Retailer authenticated")) << display_text();
    EXPECT_TRUE(wait_for_log(ads_log_, log_re("session \\d+ refused: " + reason), 10s)) << "ADS log";
    expect_no_open_session();
    for (const auto& row : sessions()) EXPECT_NE(row.outcome.value_or(""), "completed");
  }
};

bool contains(ByteView haystack, ByteView needle) {
  return !needle.empty() && std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end()) != haystack.end();
}

std::size_t count_of(ByteView haystack, ByteView needle) {
  std::size_t n = 0;
  for (auto it = haystack.begin();
       (it = std::search(it, haystack.end(), needle.begin(), needle.end())) != haystack.end(); ++it)
    ++n;
  return n;
}

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// The forms a marker could leak in: its ASCII bytes, and its bytes written as hex (either case).
std::vector<Bytes> leak_forms(const std::string& marker) {
  const Bytes ascii(marker.begin(), marker.end());
  const std::string as_hex = to_hex(ascii);
  const std::string as_upper_hex = upper(as_hex);
  return {ascii, Bytes(as_hex.begin(), as_hex.end()), Bytes(as_upper_hex.begin(), as_upper_hex.end())};
}

}  // namespace

// 1. Enrolled card, right PIN: the whole handshake, both echo tests, a clean end on all three sides.
TEST_F(SecureSession, HappyPathEstablishesEchoesAndEnds) {
  const std::string image = enrol();
  insert_card(image);
  const int ads = start_ads();
  const std::string dtd_marker = random_marker("DTDMARKER-");
  const int dtd = start_dtd(ads, dtd_marker);
  ASSERT_FALSE(HasFailure());
  SteOptions ste;
  ste.echo_test = random_marker("STEMARKER-");
  EXPECT_EQ(run_ste(dtd, ste), 0) << display_text();

  expect_display_in_order({"Enter retailer PIN", std::string("Signed on: retailer ") + kSerial,
                           "Retailer authenticated", "Issuer authenticated", "Session keys established",
                           "Session ended"});
  EXPECT_TRUE(wait_for_log(dtd_log_, log_re("dtd channel echo ok"), 10s)) << "dtd-agent did not log its echo";
  auto established = wait_for_log(ads_log_, log_re(std::string("session (\\d+) established: retailer ") + kSerial), 10s);
  ASSERT_TRUE(established) << "ADS did not log the established session";
  EXPECT_TRUE(wait_for_log(ads_log_, log_re("session " + established->at(1) + " ended: completed"), 10s))
      << "ADS did not log the end of session " << established->at(1);
  EXPECT_TRUE(wait_for_log(dtd_log_, log_re("session " + established->at(1) + " relayed"), 10s))
      << "dtd-agent did not log 'session " << established->at(1) << " relayed'";
  EXPECT_TRUE(wait_for_log(dtd_log_, log_re("session " + established->at(1) + " ended"), 10s))
      << "dtd-agent did not log 'session " << established->at(1) << " ended'";

  expect_no_open_session();
  const auto rows = sessions();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].retailer_serial, kSerial);
  EXPECT_EQ(rows[0].outcome.value_or("(open)"), "completed") << "reason: " << rows[0].reason;

  // Contract: SIGTERM stops the server cleanly with exit 0.
  ads_->send_signal(SIGTERM);
  EXPECT_EQ(ads_->wait_exit(10s), 0) << "ads-server on SIGTERM";
}

// 2. One wrong PIN and nothing more on the keypad: tries left shown, the ADS never hears of it.
TEST_F(SecureSession, WrongPinShowsTriesLeftAndOpensNoSession) {
  insert_card(enrol());
  const int dtd = start_dtd(start_ads());
  ASSERT_FALSE(HasFailure());
  SteOptions ste;
  ste.keypad = {"9999"};
  EXPECT_EQ(run_ste(dtd, ste), 2) << display_text();
  expect_display_in_order({"Enter retailer PIN", "Wrong PIN: 2 tries left"});
  const auto shown = display();
  EXPECT_FALSE(std::any_of(shown.begin(), shown.end(), [](const std::string& t) { return t.rfind("Signed on", 0) == 0; }))
      << display_text();
  EXPECT_EQ(ads_log().find(" established"), std::string::npos) << "the ADS established a session";
  EXPECT_TRUE(sessions().empty()) << "the ADS recorded a session for a wrong PIN";
}

// 3. Three wrong PINs block CHV1; a second run sees the blocked card without asking for a PIN.
TEST_F(SecureSession, ThreeWrongPinsBlockTheCardAndASecondRunRefusesAtOnce) {
  insert_card(enrol());
  const int dtd = start_dtd(start_ads());
  ASSERT_FALSE(HasFailure());
  SteOptions ste;
  ste.keypad = {"1111", "2222", "3333"};
  EXPECT_EQ(run_ste(dtd, ste), 2) << display_text();
  expect_display_in_order({"Wrong PIN: 2 tries left", "Wrong PIN: 1 tries left", "Retailer card blocked"});

  SteOptions again;
  again.keypad = {kPin};
  EXPECT_EQ(run_ste(dtd, again, 30s), 2) << display_text();
  EXPECT_TRUE(displayed("Retailer card blocked")) << display_text();
  EXPECT_FALSE(displayed("Enter retailer PIN")) << "a blocked card must be refused before the PIN prompt\n"
                                                 << display_text();
  EXPECT_EQ(ads_log().find(" established"), std::string::npos);
  EXPECT_TRUE(sessions().empty()) << "the ADS recorded a session for a blocked card";
}

// 4. A well-formed retailer card the issuer never enrolled.
TEST_F(SecureSession, UnknownSerialIsRefused) {
  const std::string serial = "8944999999999999990";
  const std::string keys = file("keys.json");
  {
    std::ofstream out(keys);
    out << R"({"key_version": 1, "k_ra": ")" << to_hex(crypto::random_bytes(16)) << R"(", "k_ia": ")"
        << to_hex(crypto::random_bytes(16)) << R"(", "k_s": ")" << to_hex(crypto::random_bytes(16))
        << R"(", "k_d": ")" << to_hex(crypto::random_bytes(16)) << "\"}\n";
  }
  const std::string image = file("unknown-retailer.json");
  auto made = run_program({bin_.mkcards, "retailer", "--serial", serial, "--pin", kPin, "--puk", "12345678",
                           "--issuer-code-hex", "0011223344556677", "--keys-file", keys, "--out", image},
                          file("mkcards.err"));
  ASSERT_EQ(made.exit_code, 0) << "cardperso-mkcards retailer: " << made.err;
  insert_card(image);
  const int dtd = start_dtd(start_ads());
  ASSERT_FALSE(HasFailure());
  // The terminal is enrolled for no card: the ADS answers about the terminal and says nothing about
  // the card (whose serial it does not know either).
  expect_refused_at_sign_on(dtd, serial, "terminal not enrolled");
}

// 5. A revoked card is refused by the ADS.
TEST_F(SecureSession, RevokedRetailerIsRefused) {
  const std::string image = enrol();
  auto revoked = adsctl({"retailer", "revoke", kSerial});
  ASSERT_EQ(revoked.exit_code, 0) << "adsctl retailer revoke: " << revoked.err;
  insert_card(image);
  const int dtd = start_dtd(start_ads());
  ASSERT_FALSE(HasFailure());
  expect_refused_at_sign_on(dtd, kSerial, "retailer revoked");
}

// 6. The card's K_RA is not the one the ADS holds: the retailer cryptogram fails and is counted.
TEST_F(SecureSession, WrongRetailerKeyIsRefusedAndCounted) {
  const std::string image = enrol();
  corrupt_key_file(image, 1, 1);  // first byte of K_RA (after key_version)
  insert_card(image);
  const int dtd = start_dtd(start_ads());
  ASSERT_FALSE(HasFailure());
  EXPECT_EQ(failed_auth_count(kSerial), 0);
  EXPECT_EQ(run_ste(dtd, {}), 2) << display_text();
  expect_display_in_order({std::string("Signed on: retailer ") + kSerial, "Refused: retailer authentication failed"});
  EXPECT_FALSE(displayed("Retailer authenticated")) << display_text();
  EXPECT_FALSE(displayed("Session keys established")) << display_text();
  EXPECT_TRUE(wait_for_log(ads_log_, log_re("session \\d+ refused: retailer authentication failed"), 10s))
      << "ADS log";
  expect_no_open_session();
  EXPECT_EQ(failed_auth_count(kSerial), 1) << "the failure was not counted against the card";
}

// 7. The card holds a K_IA the ADS does not have: the STE must not accept the issuer.
TEST_F(SecureSession, WrongIssuerKeyIsRefusedByTheSte) {
  const std::string image = enrol();
  corrupt_key_file(image, 1 + 16, 1);  // first byte of K_IA
  insert_card(image);
  const int dtd = start_dtd(start_ads());
  ASSERT_FALSE(HasFailure());
  SteOptions ste;
  ste.echo_test = random_marker("STEMARKER-");
  EXPECT_EQ(run_ste(dtd, ste), 2) << display_text();
  expect_display_in_order({std::string("Signed on: retailer ") + kSerial, "Refused: issuer authentication failed"});
  EXPECT_FALSE(displayed("Issuer authenticated")) << display_text();
  EXPECT_FALSE(displayed("Session keys established")) << display_text();
  // The ADS accepted the retailer, sent H4, then hears the STE's refusal and closes the session.
  EXPECT_TRUE(wait_for_log(ads_log_, log_re("session \\d+ (ended|refused)"), 10s)) << "ADS log";
  expect_no_open_session();
  for (const auto& row : sessions()) EXPECT_NE(row.outcome.value_or(""), "completed");
  EXPECT_EQ(ads_log().find("echo"), std::string::npos) << "an echo went through after the issuer was refused";
}

// The terminal and the DTD are paired (PROTOCOL.md §6.5). A terminal paired with another DTD gets
// through the handshake, but its L1 does not open at this DTD: the DTD refuses it, the session ends
// at the ADS, and nothing is completed. An unpaired terminal or DTD does not start at all.
TEST_F(SecureSession, TerminalPairedWithAnotherDtdIsRefused) {
  const std::string other = file("other-ste-pairing.key");
  auto paired = run_program({bin_.ste_firmware, "--pair", "--pairing-file", other}, file("other-pair.err"));
  ASSERT_EQ(paired.exit_code, 0) << paired.err;
  ste_pairing_ = other;
  insert_card(enrol());
  const int dtd = start_dtd(start_ads(), random_marker("DTDMARKER-"));
  ASSERT_FALSE(HasFailure());
  SteOptions ste;
  ste.echo_test = random_marker("STEMARKER-");
  EXPECT_EQ(run_ste(dtd, ste), 2) << display_text();
  EXPECT_TRUE(wait_for_log(dtd_log_, log_re("does not open under this DTD's pairing key"), 10s)) << "DTD log";
  EXPECT_TRUE(wait_for_log(ads_log_, log_re("session \\d+ ended: aborted: [^\\n]*pairing key"), 10s)) << "ADS log";
  EXPECT_FALSE(wait_for_log(dtd_log_, log_re("dtd channel echo ok"), 1s)) << "channel 2 came up with a foreign terminal";
  expect_no_open_session();
  for (const auto& row : sessions()) EXPECT_NE(row.outcome.value_or(""), "completed");
}

TEST_F(SecureSession, UnpairedProgramsDoNotStart) {
  const std::string missing = file("never-made-pairing.key");
  auto ste = run_program({bin_.ste_firmware, "--dtd", "127.0.0.1:9", "--pairing-file", missing, "--device-key", device_key_},
                         file("unpaired-ste.err"));
  EXPECT_EQ(ste.exit_code, 2);
  EXPECT_NE(ste.out.find("Refused: terminal not paired"), std::string::npos) << ste.out;
  auto dtd = run_program({bin_.dtd_agent, "--ads", "127.0.0.1:9", "--pairing-file", missing}, file("unpaired-dtd.err"));
  EXPECT_EQ(dtd.exit_code, 2);
  EXPECT_NE(dtd.err.find("not paired with a terminal"), std::string::npos) << dtd.err;
  // A mistyped code is refused and stores nothing.
  auto typo = run_program({bin_.dtd_agent, "--pair", "0000-0000-0000-0000-0000-0000-0000-0000-0000", "--pairing-file",
                           missing},
                          file("typo-dtd.err"));
  EXPECT_EQ(typo.exit_code, 2);
  EXPECT_NE(typo.err.find("mistyped"), std::string::npos) << typo.err;
  EXPECT_FALSE(std::filesystem::exists(missing));
}

// 8. The DTD cannot reach the ADS: it keeps retrying, and the STE is told the ADS is unreachable.
TEST_F(SecureSession, UnreachableAdsIsReported) {
  insert_card(enrol());
  const int dtd = start_dtd(closed_port(), "", false, {"--reconnect-max-ms", "500"});
  ASSERT_FALSE(HasFailure());
  EXPECT_TRUE(wait_for_log(dtd_log_, log_re("ADS unreachable at .*; retrying in \\d+ ms"), 10s))
      << "dtd-agent did not log its retry";
  SteOptions ste;
  ste.extra_args = {"--response-timeout-ms", "10000"};
  const auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(run_ste(dtd, ste, 30s), 2) << display_text();
  EXPECT_TRUE(displayed("Refused: ADS unreachable")) << display_text();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 25s);
  EXPECT_FALSE(displayed("Retailer authenticated")) << display_text();
  // The retry goes on after the STE gave up: one more retry line.
  const std::size_t retries = count_of(view(dtd_log()), view(std::string("ADS unreachable at")));
  bool retried = false;
  for (int i = 0; i < 100 && !retried; ++i) {
    retried = count_of(view(dtd_log()), view(std::string("ADS unreachable at"))) > retries;
    if (!retried) std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(retried) << "dtd-agent stopped retrying";
}

// 9. The DTD dies after the handshake, while the STE's echo is in flight: both ends notice.
// Sync point: a proxy between STE and DTD holds every STE->DTD frame after the L1 handover, so the
// ADS has established the session and the STE waits for its echo when the DTD is SIGKILLed.
TEST_F(SecureSession, DtdKilledMidSessionAbortsBothEnds) {
  insert_card(enrol());
  const int dtd = start_dtd(start_ads());
  ASSERT_FALSE(HasFailure());
  HoldAfter hold(Direction::ToTarget, kLinkControl, kSessionKeyHandover);
  FrameProxy link(dtd, hold.hook());
  SteOptions ste;
  ste.echo_test = random_marker("STEMARKER-");
  ChildProcess& terminal = start_ste(link.port(), ste);
  ASSERT_TRUE(hold.wait_holding(30s)) << "the STE never sent the L1 handover\n" << display_text();
  auto established = wait_for_log(ads_log_, log_re(std::string("session (\\d+) established: retailer ") + kSerial), 10s);
  ASSERT_TRUE(established) << "ADS did not log the established session";
  dtd_->kill_now();

  EXPECT_EQ(terminal.wait_exit(20s), 2) << display_text();
  expect_display_in_order({"Session keys established", "Refused: DTD link lost"});
  EXPECT_FALSE(displayed("Session ended")) << display_text();
  EXPECT_TRUE(wait_for_log(ads_log_, log_re("session " + established->at(1) + " (ended|refused)"), 10s))
      << "ADS did not log the end of session " << established->at(1);
  expect_no_open_session();
  const auto rows = sessions();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].outcome.value_or("(open)"), "aborted") << "reason: " << rows[0].reason;
}

// 10. An "ADS" that completes LinkHello and then never answers H1: the STE gives up on time.
TEST_F(SecureSession, SilentAdsTimesOut) {
  SilentAds silent;
  insert_card(enrol());
  const int dtd = start_dtd(silent.port());
  ASSERT_FALSE(HasFailure());
  SteOptions ste;
  ste.extra_args = {"--response-timeout-ms", "2000"};
  const auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(run_ste(dtd, ste, 30s), 2) << display_text();
  EXPECT_TRUE(silent.wait_for_frame(1, 0x11, 1s)) << "H1 never reached the stand-in ADS";
  expect_display_in_order({std::string("Signed on: retailer ") + kSerial, "Refused: timeout"});
  EXPECT_LT(std::chrono::steady_clock::now() - started, 15s) << "the 2 s response timeout was not honoured";
}

// 11. What the DTD (and anyone on either link) sees: the STE's echo text never in clear, SK_D only
// in the L1 frame on the local link, and that SK_D really is the channel-2 key.
TEST_F(SecureSession, DtdSeesNoClearEchoAndSkdOnlyInL1) {
  insert_card(enrol());
  const int ads = start_ads();
  FrameProxy ads_link(ads);
  const std::string dtd_marker = random_marker("DTDMARKER-");
  const int dtd = start_dtd(ads_link.port(), dtd_marker);
  ASSERT_FALSE(HasFailure());
  FrameProxy ste_link(dtd);
  SteOptions ste;
  ste.echo_test = random_marker("STEMARKER-");
  EXPECT_EQ(run_ste(ste_link.port(), ste), 0) << display_text();
  EXPECT_TRUE(displayed("Session ended")) << display_text();
  EXPECT_TRUE(wait_for_log(dtd_log_, log_re("dtd channel echo ok"), 10s)) << "dtd-agent did not log its echo";
  expect_no_open_session();

  const auto ste_side = ste_link.captured();
  const auto ads_side = ads_link.captured();
  ASSERT_EQ(ste_side.size(), 1u) << "the STE should connect once";
  ASSERT_GE(ads_side.size(), 1u);

  // The STE's marker in no byte anywhere (it is sealed under SK_S end to end), nor the DTD's on the
  // ADS link (sealed under SK_D).
  for (const auto& form : leak_forms(ste.echo_test)) {
    EXPECT_FALSE(contains(ste_side[0].upstream, form)) << "STE echo text in clear on the STE->DTD link";
    EXPECT_FALSE(contains(ste_side[0].downstream, form)) << "STE echo text in clear on the DTD->STE link";
    for (const auto& c : ads_side) {
      EXPECT_FALSE(contains(c.upstream, form)) << "STE echo text in clear on the DTD->ADS link";
      EXPECT_FALSE(contains(c.downstream, form)) << "STE echo text in clear on the ADS->DTD link";
    }
  }
  for (const auto& form : leak_forms(dtd_marker))
    for (const auto& c : ads_side) {
      EXPECT_FALSE(contains(c.upstream, form)) << "DTD echo text in clear on the DTD->ADS link";
      EXPECT_FALSE(contains(c.downstream, form)) << "DTD echo text in clear on the ADS->DTD link";
    }

  // The echoes did travel, sealed: channel 1 both ways through the DTD, channel 2 both ways.
  auto sealed_echoes = [](const Bytes& stream, std::uint8_t channel) {
    std::size_t n = 0;
    for (const auto& f : split_frames(stream)) n += (f.channel == channel && f.type == kEcho && (f.flags & 1) != 0);
    return n;
  };
  Bytes ads_up, ads_down;
  for (const auto& c : ads_side) {
    ads_up.insert(ads_up.end(), c.upstream.begin(), c.upstream.end());
    ads_down.insert(ads_down.end(), c.downstream.begin(), c.downstream.end());
  }
  EXPECT_EQ(sealed_echoes(ste_side[0].upstream, 1), 1u);
  EXPECT_EQ(sealed_echoes(ste_side[0].downstream, 1), 1u);
  EXPECT_EQ(sealed_echoes(ads_up, 1), 1u);
  EXPECT_EQ(sealed_echoes(ads_down, 1), 1u);
  EXPECT_EQ(sealed_echoes(ads_up, 2), 1u);
  EXPECT_EQ(sealed_echoes(ads_down, 2), 1u);
  // PROTOCOL.md §7: the STE's Terminate (channel 1) makes the ADS send a sealed Terminate on channel 2.
  auto sealed_terminates = [](const Bytes& stream, std::uint8_t channel) {
    std::size_t n = 0;
    for (const auto& f : split_frames(stream)) n += (f.channel == channel && f.type == kTerminate && (f.flags & 1) != 0);
    return n;
  };
  EXPECT_EQ(sealed_terminates(ads_up, 1), 1u) << "the STE's Terminate did not reach the ADS";
  EXPECT_EQ(sealed_terminates(ads_down, 2), 1u) << "the ADS did not end channel 2 with a Terminate";

  if (std::getenv("CARDPERSO_E2E_VERBOSE") != nullptr) {
    auto show = [](const char* what, const Bytes& stream) {
      for (const auto& f : split_frames(stream))
        std::cerr << what << " ch" << int{f.channel} << " type 0x" << std::hex << int{f.type} << std::dec << " flags "
                  << int{f.flags} << " session " << f.session << " len " << f.payload.size() << "\n";
    };
    show("STE->DTD", ste_side[0].upstream);
    show("DTD->STE", ste_side[0].downstream);
    show("DTD->ADS", ads_up);
    show("ADS->DTD", ads_down);
  }

  // L1: exactly one, STE->DTD only, SK_D sealed under the pairing key (PROTOCOL.md §6.5: session 4 |
  // T4 32 | sealed SK_D 32). The DTD's pairing file opens it; the SK_D it gives is nowhere in clear.
  std::vector<FrameRef> handovers;
  for (const auto& f : split_frames(ste_side[0].upstream))
    if (f.channel == kLinkControl && f.type == kSessionKeyHandover) handovers.push_back(f);
  ASSERT_EQ(handovers.size(), 1u) << "expected one SessionKeyHandover from the STE";
  ASSERT_EQ(handovers[0].payload.size(), 68u);
  const Bytes t4(handovers[0].payload.begin() + 4, handovers[0].payload.begin() + 36);
  auto pairing = proto::load_pairing_file(dtd_pairing_);
  ASSERT_TRUE(pairing) << pairing.error().message;
  auto header = proto::decode_header(handovers[0].header);
  ASSERT_TRUE(header) << header.error().message;
  proto::TranscriptHash t4_hash{};
  std::copy(t4.begin(), t4.end(), t4_hash.begin());
  auto opened_sk_d = proto::open_sk_d(*pairing, *header, t4_hash, ByteView(handovers[0].payload).subspan(36));
  ASSERT_TRUE(opened_sk_d) << opened_sk_d.error().message;
  const Bytes sk_d(opened_sk_d->view().begin(), opened_sk_d->view().end());
  EXPECT_EQ(count_of(ste_side[0].upstream, sk_d), 0u) << "SK_D crossed the local link in clear";
  EXPECT_FALSE(contains(ste_side[0].downstream, sk_d));
  EXPECT_FALSE(contains(ads_up, sk_d)) << "SK_D left the local link";
  EXPECT_FALSE(contains(ads_down, sk_d)) << "SK_D on the ADS link";
  for (const auto& f : split_frames(ads_up)) EXPECT_FALSE(f.channel == kLinkControl && f.type == kSessionKeyHandover);

  // The handed-over SK_D opens the DTD's sealed echo (PROTOCOL.md §7: nonce = 3 || counter,
  // AAD = header || T4, payload = counter || ciphertext || tag).
  bool opened = false;
  for (const auto& f : split_frames(ads_up)) {
    if (f.channel != 2 || f.type != kEcho || f.payload.size() < 24) continue;
    Bytes nonce = {0, 0, 0, 3};
    nonce.insert(nonce.end(), f.payload.begin(), f.payload.begin() + 8);
    const Bytes aad = concat({f.header, t4});
    auto plain = crypto::aes128_gcm_open(sk_d, nonce, aad, ByteView(f.payload).subspan(8));
    ASSERT_TRUE(plain.ok()) << "SK_D from L1 does not open the DTD's channel-2 echo: " << plain.error().message;
    EXPECT_EQ(std::string(plain->begin(), plain->end()), dtd_marker);
    opened = true;
  }
  EXPECT_TRUE(opened) << "no channel-2 echo from the DTD to open";
}
