// The ADS side of a DTD link, end to end in one process: a real SQLite file, a real loopback TCP
// listener running serve_dtd_connection, and an STE + DTD driven by the proto cores in the test.
#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "cardperso/ads/service/close_reason.hpp"
#include "cardperso/ads/service/session_ids.hpp"
#include "cardperso/common/crypto.hpp"
#include "cardperso/net/tcp_connector.hpp"
#include "cardperso/proto/link.hpp"
#include "ste_dtd_client.hpp"

namespace cardperso::daemon_test {
namespace {

const std::string kSerial = "8944001234567890";

ads::ConnectionOptions quick_options() {
  ads::ConnectionOptions o;
  o.timeouts.handshake = 2s;
  o.hello_timeout = 2s;
  return o;
}

class AdsConnectionTest : public ::testing::Test {
 protected:
  std::shared_ptr<CounterOutcome> counter(const std::string& serial, proto::RetailerKeys keys, bool echo = true) {
    auto out = std::make_shared<CounterOutcome>();
    CounterPlan plan{ads.endpoint(), serial, 1, std::move(keys), echo};
    asio::co_spawn(io, run_counter(std::move(plan), out), asio::detached);
    EXPECT_TRUE(run_until(io, [&] { return out->finished; })) << "the counter did not finish";
    return out;
  }
  // The journal is written right after the last frame goes out; wait for it.
  ads::SessionRecord last_session() { return last_finished_session(io, ads); }

  LogCapture log;
  asio::io_context io;
  AdsUnderTest ads{io, quick_options()};
};

TEST_F(AdsConnectionTest, SessionEstablishesEchoesOnBothChannelsAndIsRecordedCompleted) {
  ads.enrol(kSerial, make_keys(0x11));
  auto out = counter(kSerial, make_keys(0x11));
  EXPECT_TRUE(out->failure.empty()) << out->failure;
  EXPECT_TRUE(out->linked);
  EXPECT_TRUE(out->ste_established);
  EXPECT_TRUE(out->dtd_established);
  EXPECT_EQ(out->ste_echoes, std::vector<std::string>{kSteEcho});
  EXPECT_EQ(out->dtd_echoes, std::vector<std::string>{kDtdEcho});
  ASSERT_EQ(out->ste_closes.size(), 1u);
  EXPECT_EQ(out->ste_closes[0].code, proto::ErrorCode::None);
  ASSERT_EQ(out->dtd_closes.size(), 1u);  // the ADS ended channel 2 when the STE terminated
  EXPECT_EQ(out->dtd_closes[0].code, proto::ErrorCode::None);

  const auto s = last_session();
  EXPECT_EQ(s.retailer_serial, kSerial);
  EXPECT_EQ(s.outcome, "completed");
  EXPECT_NE(out->session, 0u);
  const std::string id = std::to_string(out->session);
  EXPECT_TRUE(log.contains("session " + id + " established: retailer " + kSerial)) << log.text();
  EXPECT_TRUE(log.contains("session " + id + " ended: completed")) << log.text();
  EXPECT_EQ(ads.server->services.sessions_established.load(), 1u);
}

// The terminal is checked first: for a card it is not enrolled for, the answer is about the terminal,
// and the same as for any other refusal. A serial that is not the issuer's gets no journal row.
TEST_F(AdsConnectionTest, UnknownCardFromAnUnenrolledTerminalIsRefusedWithoutAJournalRow) {
  auto out = counter("8944009999999999", make_keys(0x11));
  EXPECT_FALSE(out->ste_established);
  ASSERT_EQ(out->ste_closes.size(), 1u);
  EXPECT_EQ(out->ste_closes[0].code, proto::ErrorCode::NotAccepted);  // the true reason only in the ADS's log
  EXPECT_TRUE(run_until(io, [&] { return log.contains("refused: terminal not enrolled: device key "); }))
      << log.text();
  EXPECT_TRUE(log.contains("is not enrolled at this issuer")) << log.text();
  EXPECT_TRUE(ads.sessions().empty());
}

// Failures nobody authenticated count against the address, not against a retailer: past the limit
// the address's H1s are refused (Busy) without a lookup; the retailer's count stays 0.
TEST_F(AdsConnectionTest, AnonymousFailuresBackOffTheAddressNotTheRetailer) {
  ads.enrol(kSerial, make_keys(0x11));
  ads.count_address_failures({.max_failures = 3, .window = std::chrono::seconds(60), .backoff = std::chrono::seconds(60),
                              .max_backoff = std::chrono::seconds(600), .max_sources = 16});
  for (int i = 0; i < 3; ++i) {
    auto out = counter("8944009999999999", make_keys(0x11));
    ASSERT_EQ(out->ste_closes.size(), 1u);
    EXPECT_EQ(out->ste_closes[0].code, proto::ErrorCode::NotAccepted) << i;
  }
  EXPECT_TRUE(run_until(io, [&] { return ads.penalties->backoffs() == 1; }));
  EXPECT_TRUE(log.contains("127.0.0.1 backed off for 60 s after 3 failed attempts")) << log.text();
  auto out = counter(kSerial, make_keys(0x11));  // even the real retailer, from this address
  ASSERT_EQ(out->ste_closes.size(), 1u);
  EXPECT_EQ(out->ste_closes[0].code, proto::ErrorCode::Busy);
  EXPECT_EQ(ads.retailer(kSerial).failed_auth_count, 0);
}

// A lock ends by itself (here after 1 s), and the right card signs on again without an operator.
TEST(AdsLockExpiry, ALockEndsByItself) {
  LogCapture log;
  asio::io_context io;
  ads::LockoutPolicy policy;
  policy.max_failures = 2;
  policy.backoff = std::chrono::seconds(1);
  AdsUnderTest ads{io, quick_options(), policy};
  ads.enrol(kSerial, make_keys(0x11));
  auto wrong = make_keys(0x11);
  wrong.k_ra = make_keys(0x22).k_ra;
  auto run = [&](proto::RetailerKeys keys) {
    auto out = std::make_shared<CounterOutcome>();
    asio::co_spawn(io, run_counter(CounterPlan{ads.endpoint(), kSerial, 1, std::move(keys), true}, out), asio::detached);
    EXPECT_TRUE(run_until(io, [&] { return out->finished; }));
    return out;
  };
  (void)run(wrong);
  (void)run(wrong);
  EXPECT_EQ(ads.retailer(kSerial).status, ads::RetailerStatus::Locked);
  EXPECT_FALSE(run(make_keys(0x11))->ste_established);  // locked: refused
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  EXPECT_TRUE(run(make_keys(0x11))->ste_established);
  EXPECT_EQ(ads.retailer(kSerial).status, ads::RetailerStatus::Active);
  EXPECT_EQ(ads.retailer(kSerial).lockouts, 0);  // the success ended the run of locks
}

TEST_F(AdsConnectionTest, KeyVersionTheIssuerDoesNotHoldIsAnUnknownRetailer) {
  ads.enrol(kSerial, make_keys(0x11), 2);
  auto out = counter(kSerial, make_keys(0x11));  // H1 names key version 1
  ASSERT_EQ(out->ste_closes.size(), 1u);
  EXPECT_EQ(out->ste_closes[0].code, proto::ErrorCode::NotAccepted);
  EXPECT_EQ(last_session().reason, "refused: unknown retailer");
}

TEST_F(AdsConnectionTest, WrongRetailerKeyCountsFailuresAndFiveLockTheCard) {
  ads.enrol(kSerial, make_keys(0x11));
  auto wrong = make_keys(0x11);
  wrong.k_ra = make_keys(0x22).k_ra;
  for (int i = 1; i <= 5; ++i) {
    auto out = counter(kSerial, wrong);
    ASSERT_EQ(out->ste_closes.size(), 1u) << "attempt " << i;
    EXPECT_EQ(out->ste_closes[0].code, proto::ErrorCode::RetailerAuthFailed) << "attempt " << i;
    EXPECT_EQ(last_session().reason, "refused: retailer authentication failed");
    EXPECT_EQ(ads.retailer(kSerial).failed_auth_count, i);
    EXPECT_EQ(ads.retailer(kSerial).status, i < 5 ? ads::RetailerStatus::Active : ads::RetailerStatus::Locked);
  }
  EXPECT_TRUE(log.contains("retailer " + kSerial + " locked after 5 failed authentications, until ")) << log.text();
  // Even the right keys are refused now, until the lock ends (15 minutes) or the issuer unlocks the card.
  auto out = counter(kSerial, make_keys(0x11));
  EXPECT_FALSE(out->ste_established);
  ASSERT_EQ(out->ste_closes.size(), 1u);
  EXPECT_EQ(out->ste_closes[0].code, proto::ErrorCode::NotAccepted);
  EXPECT_EQ(last_session().reason, "refused: retailer locked");
}

TEST_F(AdsConnectionTest, SuccessClearsEarlierFailures) {
  ads.enrol(kSerial, make_keys(0x11));
  auto wrong = make_keys(0x11);
  wrong.k_ra = make_keys(0x22).k_ra;
  (void)counter(kSerial, wrong);
  (void)counter(kSerial, wrong);
  EXPECT_EQ(ads.retailer(kSerial).failed_auth_count, 2);
  auto out = counter(kSerial, make_keys(0x11));
  EXPECT_TRUE(out->ste_established);
  EXPECT_EQ(ads.retailer(kSerial).failed_auth_count, 0);
}

TEST_F(AdsConnectionTest, RevokedRetailerIsRefused) {
  ads.enrol(kSerial, make_keys(0x11));
  {
    ads::AuditLog audit(*ads.db, ads.key);
    ads::RetailerStore store(*ads.db, ads.key, audit, "test");
    ads::test::must(store.revoke(kSerial));
  }
  auto out = counter(kSerial, make_keys(0x11));
  ASSERT_EQ(out->ste_closes.size(), 1u);
  EXPECT_EQ(out->ste_closes[0].code, proto::ErrorCode::NotAccepted);
  EXPECT_EQ(last_session().reason, "refused: retailer revoked");
}

// --- raw links: what a silent or confused DTD gets -----------------------------------------------

struct RawOutcome {
  std::vector<proto::Frame> frames;
  std::optional<net::ReadFailure> ended;
  std::chrono::milliseconds ended_after{0};
  bool finished = false;
};

// Connects, optionally says hello and sends `frames`, then only reads until the link ends or `limit`.
asio::awaitable<void> raw_link(net::Endpoint ads, bool hello, std::vector<proto::Frame> frames,
                               std::chrono::milliseconds limit, std::shared_ptr<RawOutcome> out) {
  const auto start = std::chrono::steady_clock::now();
  net::ConnectOptions connect_options;
  auto connected = co_await net::connect_tcp(ads, connect_options);
  auto stream = std::move(connected).value();
  if (hello) {
    const auto h = proto::make_frame(proto::Channel::LinkControl, 0, proto::LinkHello{proto::kProtocolVersion, proto::kProtocolVersion, "raw"});
    (void)co_await stream.write_frame(h.header, h.payload);
  }
  for (const auto& f : frames) (void)co_await stream.write_frame(f.header, f.payload);
  while (std::chrono::steady_clock::now() - start < limit) {
    auto r = co_await stream.read_frame(100ms);
    if (r) {
      out->frames.push_back(std::move(*r));
      continue;
    }
    if (r.failure() == net::ReadFailure::Timeout) continue;
    out->ended = r.failure();
    out->ended_after = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    break;
  }
  stream.close();
  out->finished = true;
}

std::optional<proto::ErrorMessage> error_in(const proto::Frame& f) {
  if (f.header.type != static_cast<std::uint8_t>(proto::MessageType::Error)) return std::nullopt;
  auto e = proto::ErrorMessage::decode(f.payload);
  if (!e) return std::nullopt;
  return *e;
}

class AdsRawLinkTest : public ::testing::Test {
 protected:
  static ads::ConnectionOptions options() {
    ads::ConnectionOptions o;
    o.hello_timeout = 300ms;
    o.timeouts.handshake = 300ms;
    o.keepalive_interval = 150ms;
    o.link_timeout = 5s;
    o.max_sessions = 2;
    return o;
  }
  std::shared_ptr<RawOutcome> run(bool hello, std::vector<proto::Frame> frames, std::chrono::milliseconds limit) {
    auto out = std::make_shared<RawOutcome>();
    asio::co_spawn(io, raw_link(ads.endpoint(), hello, std::move(frames), limit, out), asio::detached);
    EXPECT_TRUE(run_until(io, [&] { return out->finished; }, limit + 2s));
    return out;
  }
  static proto::Frame h1(const std::string& serial) {
    proto::HandshakeH1 m;
    m.key_version = 1;
    m.serial = serial;
    m.share = crypto::x25519_public(crypto::random_secret(crypto::kX25519Size));  // a usable share
    m.terminal = cardperso::testing::test_device_signer()->public_key();  // the enrolled terminal
    return proto::make_frame(proto::Channel::SteAds, 0, m);
  }

  LogCapture log;
  asio::io_context io;
  AdsUnderTest ads{io, options()};
};

TEST_F(AdsRawLinkTest, LinkWithoutHelloIsClosedAfterTheHelloTimeout) {
  auto out = run(false, {}, 3s);
  ASSERT_TRUE(out->ended.has_value());
  EXPECT_EQ(*out->ended, net::ReadFailure::PeerClosed);
  EXPECT_GE(out->ended_after, 250ms);
  EXPECT_LT(out->ended_after, 2s);
  EXPECT_TRUE(log.contains("sent no LinkHello")) << log.text();
}

TEST_F(AdsRawLinkTest, SilentSteTimesOutAndTheSessionIsRecorded) {
  ads.enrol(kSerial, make_keys(0x11));
  auto out = run(true, {h1(kSerial)}, 1500ms);
  // LinkHelloAck, H2, then (after 300 ms of silence) Error 11 on channel 1; keepalives in between.
  std::optional<std::uint32_t> session;
  std::optional<proto::ErrorMessage> timeout;
  std::size_t keepalives = 0;
  for (const auto& f : out->frames) {
    if (f.header.type == static_cast<std::uint8_t>(proto::MessageType::H2)) session = f.header.session;
    if (f.header.type == static_cast<std::uint8_t>(proto::MessageType::Keepalive)) ++keepalives;
    if (auto e = error_in(f); e && f.header.channel == proto::Channel::SteAds) {
      timeout = e;
      EXPECT_EQ(f.header.session, session.value_or(0));
    }
  }
  ASSERT_TRUE(session.has_value());
  ASSERT_TRUE(timeout.has_value());
  EXPECT_EQ(timeout->code, proto::ErrorCode::Timeout);
  EXPECT_GE(keepalives, 2u);
  EXPECT_TRUE(log.contains("session " + std::to_string(*session) + " refused: timeout")) << log.text();
  EXPECT_EQ(ads.sessions().front().reason, "refused: timeout");
}

TEST_F(AdsRawLinkTest, FrameForUnknownSessionGetsUnknownSession) {
  proto::Frame f = proto::make_frame(proto::Channel::SteAds, 12345, proto::HandshakeH3{});
  auto out = run(true, {f}, 500ms);
  bool seen = false;
  for (const auto& r : out->frames)
    if (auto e = error_in(r); e && r.header.session == 12345) {
      EXPECT_EQ(e->code, proto::ErrorCode::UnknownSession);
      seen = true;
    }
  EXPECT_TRUE(seen);
}

TEST_F(AdsRawLinkTest, DroppedLinkMidHandshakeIsRecordedAsPeerClosed) {
  ads.enrol(kSerial, make_keys(0x11));
  auto out = run(true, {h1(kSerial)}, 100ms);  // closes the link right after H2
  ASSERT_TRUE(run_until(io, [&] {
    auto s = ads.sessions();
    return !s.empty() && s.front().outcome.has_value();
  }, 3s));
  EXPECT_EQ(ads.sessions().front().reason, "refused: peer closed");
}

TEST_F(AdsRawLinkTest, SessionsPerLinkAreBounded) {
  ads.enrol(kSerial, make_keys(0x11));
  auto out = run(true, {h1(kSerial), h1(kSerial), h1(kSerial)}, 250ms);  // the limit is 2 here
  std::set<std::uint32_t> sessions;
  std::size_t busy = 0;
  for (const auto& f : out->frames) {
    if (f.header.type == static_cast<std::uint8_t>(proto::MessageType::H2)) sessions.insert(f.header.session);
    if (auto e = error_in(f); e && e->code == proto::ErrorCode::Busy) ++busy;
  }
  EXPECT_EQ(sessions.size(), 2u);  // distinct non-zero ids
  EXPECT_EQ(sessions.count(0), 0u);
  EXPECT_EQ(busy, 1u);
}

TEST_F(AdsRawLinkTest, ShutdownEndsOpenSessionsAndRecordsThem) {
  ads.enrol(kSerial, make_keys(0x11));
  auto out = std::make_shared<RawOutcome>();
  asio::co_spawn(io, raw_link(ads.endpoint(), true, {h1(kSerial)}, 2s, out), asio::detached);
  ASSERT_TRUE(run_until(io, [&] { return !out->frames.empty() && !ads.sessions().empty(); }, 2s));
  ads.server->request_stop();
  ASSERT_TRUE(run_until(io, [&] { return out->finished; }, 3s));
  ASSERT_TRUE(out->ended.has_value());  // the ADS closed the link
  bool told = false;
  for (const auto& f : out->frames)
    if (auto e = error_in(f); e && f.header.channel == proto::Channel::SteAds && f.header.session != 0) told = true;
  EXPECT_TRUE(told);
  EXPECT_EQ(ads.sessions().front().reason, "refused: server shutting down");
}

// With group commit (as the daemon runs): the journal row that H1 wrote is committed, and visible
// to another connection, by the time H2 reaches the DTD; shutdown still ends the session.
TEST_F(AdsRawLinkTest, WithGroupCommitH2ArrivesAfterItsJournalRowIsCommitted) {
  ads.enrol(kSerial, make_keys(0x11));
  ads::GroupCommit group(*ads.db, io.get_executor());
  ads.server->group = &group;
  auto out = std::make_shared<RawOutcome>();
  asio::co_spawn(io, raw_link(ads.endpoint(), true, {h1(kSerial)}, 3s, out), asio::detached);
  std::int64_t rows_when_h2 = -1;
  ASSERT_TRUE(run_until(io, [&] {
    for (const auto& f : out->frames)
      if (f.header.type == static_cast<std::uint8_t>(proto::MessageType::H2)) {
        rows_when_h2 = ads::test::raw_int(ads.dir.file("ads.db"), "SELECT count(*) FROM sessions");
        return true;
      }
    return false;
  }, 2s));
  EXPECT_EQ(rows_when_h2, 1);
  EXPECT_GE(group.commits(), 1u);
  ads.server->request_stop();
  ASSERT_TRUE(run_until(io, [&] { return out->finished; }, 3s));
  ASSERT_TRUE(out->ended.has_value());  // ended by the shutdown request, not by the 3 s limit
  ads.server->group = nullptr;
  EXPECT_TRUE(group.commit_now().ok());
  EXPECT_EQ(ads.sessions().front().reason, "refused: server shutting down");
}

TEST_F(AdsRawLinkTest, UnsupportedLinkVersionIsRefused) {
  auto out = std::make_shared<RawOutcome>();
  // LinkHello offering only versions after ours.
  proto::Frame hello = proto::make_frame(proto::Channel::LinkControl, 0,
                                         proto::LinkHello{static_cast<std::uint8_t>(proto::kMaxSupportedVersion + 1),
                                                          static_cast<std::uint8_t>(proto::kMaxSupportedVersion + 2), "future"});
  asio::co_spawn(io, raw_link(ads.endpoint(), false, {hello}, 1s, out), asio::detached);
  ASSERT_TRUE(run_until(io, [&] { return out->finished; }, 3s));
  ASSERT_FALSE(out->frames.empty());
  auto e = error_in(out->frames.front());
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->code, proto::ErrorCode::UnsupportedVersion);
  ASSERT_TRUE(out->ended.has_value());
}

TEST(SessionIds, AreNonZeroAndSkipZeroOnWrap) {
  ads::SessionIds ids(0xfffffffeu);
  EXPECT_EQ(ids.next(), 0xfffffffeu);
  EXPECT_EQ(ids.next(), 0xffffffffu);
  EXPECT_EQ(ids.next(), 1u);
  ads::SessionIds random;
  EXPECT_NE(random.next(), 0u);
}

TEST(CloseReason, NamesRefusalsAndEndsAsTheContractSays) {
  EXPECT_EQ(ads::short_reason(proto::Close{proto::ErrorCode::RetailerLocked, "x"}), "retailer locked");
  EXPECT_EQ(ads::short_reason(proto::Close{proto::ErrorCode::Timeout, "x"}), "timeout");
  EXPECT_EQ(ads::classify_end(false, proto::ErrorCode::UnknownRetailer, "unknown retailer").text,
            "refused: unknown retailer");
  EXPECT_EQ(ads::classify_end(true, proto::ErrorCode::None, "").outcome, ads::SessionOutcome::Completed);
  const auto aborted = ads::classify_end(true, proto::ErrorCode::Timeout, "timeout");
  EXPECT_EQ(aborted.outcome, ads::SessionOutcome::Aborted);
  EXPECT_EQ(aborted.text, "aborted: timeout");
}

}  // namespace
}  // namespace cardperso::daemon_test
