// SteSession over a real byte stream (a connected AF_UNIX socket pair) against the real ADS core
// (proto::AdsHandshake) standing in for the DTD+ADS pair, as the DTD relays channel 1 unchanged.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

#include "cardperso/proto/pairing.hpp"
#include "cardperso/proto/ads_handshake.hpp"
#include "cardperso/proto/link.hpp"
#include "cardperso/proto/perso_messages.hpp"
#include "cardperso/proto/terminal_status.hpp"
#include "cardperso/testing/test_keys.hpp"
#include "link_status_reporter.hpp"
#include "ste_session.hpp"

namespace cardperso::ste {
namespace {

using namespace std::chrono_literals;
using proto::ErrorCode;
using proto::MessageType;

SecretBytes key(std::uint8_t start) {
  Bytes b(16);
  for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<std::uint8_t>(start + i);
  return SecretBytes(b);
}

proto::RetailerKeys keys(std::uint8_t ra = 0x00, std::uint8_t ia = 0x40) {
  proto::RetailerKeys k;
  k.k_ra = key(ra);
  k.k_ia = key(ia);
  k.k_s = key(0x80);
  k.k_d = key(0xc0);
  return k;
}

// The key the terminal shares with its (fake) DTD.
SecretBytes pairing_key() { return SecretBytes(Bytes(16, 0x6b)); }

RetailerCredentials credentials() {
  RetailerCredentials c;
  c.serial = "8944001234567890";
  c.key_version = 1;
  c.secrets = std::make_unique<proto::KeyedRetailerSecrets>(keys());
  return c;
}

enum class PeerMode {
  Normal,
  UnknownRetailer,
  AdsUnreachable,
  Silent,
  CloseAfterHello,
  WrongRetailerKey,
  WrongIssuerKey,
  NoGoThenQuiet,  // once established: one C2 no-go to the STE, then nothing
};

struct PeerReport {
  bool got_hello = false;
  bool got_handover = false;
  std::uint32_t handover_session = 0;
  std::size_t handover_key_size = 0;
  int echoes = 0;
  std::optional<proto::Close> ads_closed;
  std::vector<proto::TerminalStatus> statuses;  // TerminalStatus frames from the STE, in order
  int bad_statuses = 0;
};

// Both ends of a connected stream socket as FramedStreams on io.
std::pair<net::FramedStream, net::FramedStream> socket_pair(net::asio::io_context& io) {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) throw std::runtime_error("socketpair failed");
  return {net::FramedStream(net::asio::posix::stream_descriptor(io, fds[0]), net::StreamOptions{10s, "ste side"}),
          net::FramedStream(net::asio::posix::stream_descriptor(io, fds[1]), net::StreamOptions{10s, "dtd side"})};
}

net::asio::awaitable<void> write(net::FramedStream link, proto::Frame f) {
  (void)co_await link.write_frame(proto::encode_frame(f.header, f.payload));
}

net::asio::awaitable<void> fake_dtd_and_ads(net::FramedStream link, PeerMode mode, std::shared_ptr<PeerReport> report) {
  std::optional<proto::AdsHandshake> ads;
  for (;;) {
    auto read = co_await link.read_frame(5s);
    if (!read) co_return;
    proto::Frame frame = std::move(*read);
    const auto type = static_cast<MessageType>(frame.header.type);
    if (frame.header.channel == proto::Channel::LinkControl) {
      if (type == MessageType::SteHello) {
        report->got_hello = proto::SteHello::decode(frame.payload).ok();
        if (mode == PeerMode::CloseAfterHello) {
          link.close();
          co_return;
        }
        co_await write(link, proto::make_frame(proto::Channel::LinkControl, 0, proto::LinkHelloAck{}));
      } else if (type == MessageType::TerminalStatus) {
        auto status = proto::TerminalStatus::decode(frame.payload);
        if (status && (frame.header.flags & proto::kFlagSealed) == 0)
          report->statuses.push_back(*status);
        else
          ++report->bad_statuses;
      } else if (type == MessageType::SessionKeyHandover) {
        auto l1 = proto::SessionKeyHandover::decode(frame.payload);
        report->got_handover = l1.ok();
        if (l1) {
          report->handover_session = l1->session;
          // The DTD's side of the pairing: the SK_D sealed in L1 opens under the shared key.
          auto sk_d = proto::open_sk_d(pairing_key(), frame.header, l1->transcript_hash, l1->sealed_sk_d);
          report->handover_key_size = sk_d ? sk_d->size() : 0;
        }
      }
      continue;
    }
    if (mode == PeerMode::Silent) continue;
    if (mode == PeerMode::AdsUnreachable) {
      co_await write(link, proto::make_frame(proto::Channel::SteAds, 0,
                                             proto::ErrorMessage::make(ErrorCode::AdsUnreachable, "ADS unreachable")));
      continue;
    }
    if (!ads) {
      proto::Timeouts t;
      t.refusal_floor = std::chrono::milliseconds(0);  // this peer runs no timers: a refusal leaves at once
      ads.emplace(42, t);
    }
    std::deque<proto::Action> todo;
    for (auto& a : ads->on_frame(frame, proto::Clock::now())) todo.push_back(std::move(a));
    while (!todo.empty()) {
      proto::Action action = std::move(todo.front());
      todo.pop_front();
      if (auto* send = std::get_if<proto::SendFrame>(&action)) {
        // The ADS addresses its DTD; the DTD relays channel 1 to the STE and keeps channel 2.
        if (send->frame.header.channel == proto::Channel::SteAds) co_await write(link, std::move(send->frame));
      } else if (std::get_if<proto::LookupRetailer>(&action)) {
        proto::RetailerLookup lookup;
        lookup.terminal = proto::TerminalEnrolment::Active;
        lookup.status = mode == PeerMode::UnknownRetailer ? proto::RetailerStatus::NotFound : proto::RetailerStatus::Active;
        if (mode == PeerMode::WrongRetailerKey) lookup.keys = keys(0x11);
        else if (mode == PeerMode::WrongIssuerKey) lookup.keys = keys(0x00, 0x33);
        else lookup.keys = keys();
        for (auto& a : ads->on_retailer_lookup(std::move(lookup), proto::Clock::now())) todo.push_back(std::move(a));
      } else if (auto* deliver = std::get_if<proto::Deliver>(&action)) {
        if (deliver->type == MessageType::Echo && deliver->channel == proto::Channel::SteAds) {
          ++report->echoes;
          for (auto& a : ads->send(proto::Channel::SteAds, MessageType::Echo, deliver->plaintext.view(),
                                   proto::Clock::now()))
            todo.push_back(std::move(a));
        }
      } else if (std::get_if<proto::SessionEstablished>(&action) && mode == PeerMode::NoGoThenQuiet) {
        proto::DecisionMsg no_go;
        no_go.go = false;
        no_go.decision_id = 5;
        no_go.reasons = "customer under 16";
        for (auto& a : ads->send(proto::Channel::SteAds, MessageType::Decision, no_go.encode(), proto::Clock::now()))
          todo.push_back(std::move(a));
      } else if (auto* close = std::get_if<proto::Close>(&action)) {
        report->ads_closed = *close;
      }
    }
  }
}

net::asio::awaitable<void> ste_side(net::FramedStream link, SessionOptions options, RecordingDisplay* display,
                                    std::shared_ptr<SessionOutcome> out) {
  auto hello = co_await greet_dtd(link, "ste-test", 2s);
  if (!hello.ok) {
    *out = hello;
    co_return;
  }
  SteSession session(link, *display, std::move(options));
  *out = co_await session.run(credentials());
  link.close();
}

struct Run {
  SessionOutcome outcome;
  PeerReport peer;
  std::vector<std::string> lines;
};

Run run(PeerMode mode, SessionOptions options) {
  options.pairing_key = pairing_key();
  options.device = cardperso::testing::test_device_signer();
  net::asio::io_context io;
  auto [ste, dtd] = socket_pair(io);
  auto report = std::make_shared<PeerReport>();
  auto outcome = std::make_shared<SessionOutcome>();
  RecordingDisplay display;
  net::asio::co_spawn(io, fake_dtd_and_ads(dtd, mode, report), net::asio::detached);
  net::asio::co_spawn(io, ste_side(ste, std::move(options), &display, outcome), net::asio::detached);
  io.run_for(20s);
  dtd.close();
  return {*outcome, *report, display.lines};
}

SessionOptions with_echo(std::string text) {
  SessionOptions o;
  o.echo_text = std::move(text);
  o.response_timeout = 3s;
  return o;
}

TEST(SteSession, EstablishesEchoesAndEnds) {
  auto r = run(PeerMode::Normal, with_echo("cardperso echo"));
  EXPECT_TRUE(r.outcome.ok) << r.outcome.refusal << ": " << r.outcome.detail;
  EXPECT_TRUE(r.peer.got_hello);
  EXPECT_TRUE(r.peer.got_handover);
  EXPECT_EQ(r.peer.handover_session, 42u);
  EXPECT_EQ(r.peer.handover_key_size, 16u);
  EXPECT_EQ(r.peer.echoes, 1);
  ASSERT_TRUE(r.peer.ads_closed.has_value());
  EXPECT_EQ(r.peer.ads_closed->code, ErrorCode::None);  // the STE's Terminate reached the ADS
  EXPECT_EQ(r.lines, (std::vector<std::string>{"Retailer authenticated", "Issuer authenticated",
                                               "Session keys established", "Session ended"}));
}

TEST(SteSession, WithoutEchoTerminatesRightAway) {
  SessionOptions o;
  o.response_timeout = 3s;
  auto r = run(PeerMode::Normal, std::move(o));
  EXPECT_TRUE(r.outcome.ok) << r.outcome.detail;
  EXPECT_EQ(r.peer.echoes, 0);
  ASSERT_TRUE(r.peer.ads_closed.has_value());
  EXPECT_EQ(r.peer.ads_closed->code, ErrorCode::None);
  EXPECT_EQ(r.lines.back(), "Session ended");
}

TEST(SteSession, UnknownRetailerIsRefused) {
  auto r = run(PeerMode::UnknownRetailer, with_echo("x"));
  EXPECT_FALSE(r.outcome.ok);
  EXPECT_EQ(r.lines, (std::vector<std::string>{"Refused: not accepted by the issuer"}));
}

TEST(SteSession, WrongRetailerKeyIsRefused) {
  auto r = run(PeerMode::WrongRetailerKey, with_echo("x"));
  EXPECT_FALSE(r.outcome.ok);
  EXPECT_EQ(r.lines, (std::vector<std::string>{"Refused: retailer authentication failed"}));
}

TEST(SteSession, WrongIssuerIsRefusedAfterTheRetailerWasAuthenticated) {
  auto r = run(PeerMode::WrongIssuerKey, with_echo("x"));
  EXPECT_FALSE(r.outcome.ok);
  EXPECT_FALSE(r.peer.got_handover);  // SK_D never leaves the STE for an impostor
  EXPECT_EQ(r.lines, (std::vector<std::string>{"Retailer authenticated", "Refused: issuer authentication failed"}));
}

TEST(SteSession, DtdWithoutAdsIsReported) {
  auto r = run(PeerMode::AdsUnreachable, with_echo("x"));
  EXPECT_FALSE(r.outcome.ok);
  EXPECT_EQ(r.lines, (std::vector<std::string>{"Refused: ADS unreachable"}));
}

TEST(SteSession, SilenceTimesOut) {
  SessionOptions o = with_echo("x");
  o.response_timeout = 300ms;
  o.timeouts.handshake = 300ms;
  const auto start = std::chrono::steady_clock::now();
  auto r = run(PeerMode::Silent, std::move(o));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_FALSE(r.outcome.ok);
  EXPECT_EQ(r.lines, (std::vector<std::string>{"Refused: timeout"}));
}

TEST(SteSession, LinkLostIsReported) {
  auto r = run(PeerMode::CloseAfterHello, with_echo("x"));
  EXPECT_FALSE(r.outcome.ok);
  EXPECT_EQ(r.outcome.refusal, "DTD link lost");
}

// ---- a signed-on terminal waiting for the shop's next customer, and what the DTD hears -----------

struct NoKeypad final : Keypad {
  Result<SecretBytes> read_digits(std::string_view, std::size_t, std::size_t) override { return fail("no keypad"); }
  Result<bool> confirm(std::string_view) override { return fail("no keypad"); }
};

net::asio::awaitable<void> ste_with_status(net::FramedStream link, SessionOptions options, RecordingDisplay* display,
                                           LinkStatusReporter* status, std::shared_ptr<SessionOutcome> out) {
  auto hello = co_await greet_dtd(link, "ste-test", 2s);
  if (!hello.ok) {
    *out = hello;
    co_return;
  }
  SteSession session(link, *display, std::move(options));
  *out = co_await session.run(credentials());
  co_await status->flush(1s);  // as ste-firmware does before it closes the link
  link.close();
}

struct IdleRun {
  SessionOutcome outcome;
  PeerReport peer;
  std::vector<std::string> lines;
  std::chrono::steady_clock::duration took{};
};

IdleRun run_idle(PeerMode mode, std::chrono::milliseconds idle_timeout) {
  net::asio::io_context io;
  net::asio::thread_pool pool(1);
  auto [ste, dtd] = socket_pair(io);
  MemoryCardSlot slot;
  NoKeypad keypad;
  RecordingDisplay display;
  LinkStatusReporter status(ste);
  CustomerCardFlow flow(slot, keypad, display, status);
  SessionOptions options;
  options.pairing_key = pairing_key();
  options.device = cardperso::testing::test_device_signer();
  options.response_timeout = 3s;
  options.idle_timeout = idle_timeout;
  options.customer_flow = &flow;
  options.blocking_pool = &pool;
  options.status = &status;
  auto report = std::make_shared<PeerReport>();
  auto outcome = std::make_shared<SessionOutcome>();
  const auto start = std::chrono::steady_clock::now();
  net::asio::co_spawn(io, fake_dtd_and_ads(dtd, mode, report), net::asio::detached);
  net::asio::co_spawn(io, ste_with_status(ste, std::move(options), &display, &status, outcome), net::asio::detached);
  io.run_for(20s);
  pool.join();
  return {*outcome, *report, display.lines, std::chrono::steady_clock::now() - start};
}

std::vector<proto::TerminalPrompt> prompts(const std::vector<proto::TerminalStatus>& statuses) {
  std::vector<proto::TerminalPrompt> out;
  for (const auto& s : statuses) out.push_back(s.prompt);
  return out;
}

// Signed on, no customer: the DTD hears `ready`, and the terminal waits the idle timeout (not the
// response timeout) before it gives up.
TEST(SteSession, WaitsForTheNextCustomerUpToTheIdleTimeoutAndSaysReady) {
  auto r = run_idle(PeerMode::Normal, 1500ms);
  EXPECT_FALSE(r.outcome.ok);
  EXPECT_EQ(r.outcome.refusal, "timeout");
  EXPECT_NE(r.outcome.detail.find("no customer from the shop PC within 2 s"), std::string::npos) << r.outcome.detail;
  EXPECT_GE(r.took, 1500ms);
  EXPECT_LT(r.took, 3s);  // the idle timeout, not the 3 s response timeout
  EXPECT_EQ(r.lines.back(), "Refused: timeout");
  EXPECT_EQ(prompts(r.peer.statuses), (std::vector<proto::TerminalPrompt>{proto::TerminalPrompt::Ready,
                                                                          proto::TerminalPrompt::Refused}));
  EXPECT_EQ(r.peer.bad_statuses, 0);
  ASSERT_TRUE(r.peer.ads_closed.has_value());
  EXPECT_EQ(r.peer.ads_closed->code, ErrorCode::Timeout);
}

// A no-go runs through the flow (on the pool) and the terminal is ready again at once.
TEST(SteSession, ANoGoLeavesTheTerminalReadyForTheNextCustomer) {
  auto r = run_idle(PeerMode::NoGoThenQuiet, 300ms);
  EXPECT_FALSE(r.outcome.ok);
  EXPECT_EQ(r.outcome.refusal, "timeout");
  EXPECT_NE(std::find(r.lines.begin(), r.lines.end(), "Customer refused: customer under 16"), r.lines.end());
  EXPECT_EQ(prompts(r.peer.statuses),
            (std::vector<proto::TerminalPrompt>{proto::TerminalPrompt::Ready, proto::TerminalPrompt::Ready,
                                                proto::TerminalPrompt::Refused}));
}

TEST(SteSession, StatusesAreDroppedOnceTheLinkIsDown) {
  net::asio::io_context io;
  auto [ste, dtd] = socket_pair(io);
  LinkStatusReporter status(ste);
  ste.close();
  status.report(proto::TerminalPrompt::Ready);
  status.report(proto::TerminalStatus::writing(1, 2));
  io.run_for(200ms);
  EXPECT_EQ(status.sent(), 0u);
  EXPECT_EQ(status.dropped(), 2u);
  dtd.close();
}

TEST(SteSession, AShortQueueKeepsTheNewestStatuses) {
  net::asio::io_context io;
  auto [ste, dtd] = socket_pair(io);
  LinkStatusReporter status(ste);
  for (std::uint16_t k = 1; k <= 100; ++k) status.report(proto::TerminalStatus::writing(k, 100));
  auto received = std::make_shared<std::vector<proto::TerminalStatus>>();
  struct Reader {
    static net::asio::awaitable<void> run(net::FramedStream link, std::shared_ptr<std::vector<proto::TerminalStatus>> out) {
      for (;;) {
        auto f = co_await link.read_frame(300ms);
        if (!f) co_return;
        if (auto s = proto::TerminalStatus::decode(f->payload)) out->push_back(*s);
      }
    }
  };
  net::asio::co_spawn(io, Reader::run(dtd, received), net::asio::detached);
  io.run_for(1s);
  // Reported all at once, before the writer ran: the last kMaxQueued went out, in order.
  ASSERT_EQ(received->size(), LinkStatusReporter::kMaxQueued);
  EXPECT_EQ(received->front(), proto::TerminalStatus::writing(100 - LinkStatusReporter::kMaxQueued + 1, 100));
  EXPECT_EQ(received->back(), proto::TerminalStatus::writing(100, 100));
  EXPECT_EQ(status.sent(), LinkStatusReporter::kMaxQueued);
  EXPECT_EQ(status.dropped(), 100 - LinkStatusReporter::kMaxQueued);
  ste.close();
  dtd.close();
}

TEST(SteSession, RefusalReasonsFollowTheContract) {
  EXPECT_EQ(refusal_reason(ErrorCode::RetailerRevoked), "retailer revoked");
  EXPECT_EQ(refusal_reason(ErrorCode::RetailerLocked), "retailer locked");
  EXPECT_EQ(refusal_reason(ErrorCode::Timeout), "timeout");
  EXPECT_EQ(refusal_reason(ErrorCode::AdsUnreachable), "ADS unreachable");
  // An ADS's own text never changes the code's meaning: "ADS unreachable" inside an Internal is internal.
  EXPECT_EQ(refusal_reason(ErrorCode::Internal), "internal error on the sending side");
  EXPECT_EQ(refusal_reason(ErrorCode::Busy), "busy");
}

}  // namespace
}  // namespace cardperso::ste
