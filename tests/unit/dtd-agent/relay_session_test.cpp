// The DTD agent's relay over real loopback TCP: a test STE on the STE link, and on the ADS side
// either a scripted fake (to compare bytes) or the real ADS connection adapter over SQLite.
#include <gtest/gtest.h>

#include "../ads-daemon/daemon_test_support.hpp"
#include "cardperso/dtd/relay_session.hpp"
#include "cardperso/dtd/ste_link.hpp"
#include "cardperso/net/tcp_connector.hpp"
#include "cardperso/proto/link.hpp"
#include "cardperso/proto/ste_handshake.hpp"
#include "cardperso/proto/terminal_status.hpp"

namespace cardperso::daemon_test {
namespace {

using proto::Channel;
using proto::MessageType;

bool is(const proto::Frame& f, MessageType t) { return f.header.type == static_cast<std::uint8_t>(t); }
Bytes wire(const proto::Frame& f) { return proto::encode_frame(f.header, f.payload); }

Bytes pattern(std::size_t n, std::uint8_t seed) {
  Bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(seed + i * 13);
  return b;
}

proto::Frame sealed_looking(Channel channel, std::uint32_t session, std::size_t size, std::uint8_t seed) {
  proto::Frame f;
  f.header.channel = channel;
  f.header.type = static_cast<std::uint8_t>(MessageType::AppData);
  f.header.flags = proto::kFlagSealed;
  f.header.session = session;
  f.payload = pattern(size, seed);
  f.header.length = static_cast<std::uint32_t>(f.payload.size());
  return f;
}

proto::Frame h1_frame() {
  proto::HandshakeH1 h1;
  h1.key_version = 1;
  h1.serial = "8944001234567890";
  h1.rn2.fill(2);
  h1.rn4.fill(4);
  h1.rn6.fill(6);
  return proto::make_frame(Channel::SteAds, 0, h1);
}

// ---- a scripted ADS: answers the hello, records what arrives, sends `replies` after the first H1 ----

struct FakeAds {
  std::vector<proto::Frame> received;  // channel 1 and 2 only
  std::vector<proto::Frame> link_control;  // channel 0 after the hello, Keepalives left out
  bool hello = false;
  bool stop = false;
  bool finished = false;
};

asio::awaitable<void> fake_ads(std::shared_ptr<net::tcp::acceptor> acceptor, std::vector<proto::Frame> replies,
                               std::shared_ptr<FakeAds> out) {
  net::tcp::socket socket(acceptor->get_executor());
  co_await acceptor->async_accept(socket, asio::use_awaitable);
  net::FramedStream stream(std::move(socket));
  bool replied = false;
  while (!out->stop) {
    auto frame = co_await stream.read_frame(50ms);
    if (!frame) {
      if (frame.failure() == net::ReadFailure::Timeout) continue;
      break;
    }
    if (frame->header.channel == Channel::LinkControl) {
      if (is(*frame, MessageType::LinkHello)) {
        out->hello = true;
        const auto ack = proto::make_frame(Channel::LinkControl, 0, proto::LinkHelloAck{proto::kProtocolVersion});
        (void)co_await stream.write_frame(ack.header, ack.payload);
      } else if (!is(*frame, MessageType::Keepalive)) {
        out->link_control.push_back(*frame);
      }
      continue;
    }
    out->received.push_back(*frame);
    if (!replied && is(*frame, MessageType::H1)) {
      replied = true;
      for (const auto& r : replies) (void)co_await stream.write_frame(r.header, r.payload);
    }
  }
  stream.close();
  out->finished = true;
}

// ---- a scripted STE: hello, then `frames`, then collects `expect` non-keepalive frames ----

struct FakeSte {
  bool acked = false;
  std::vector<proto::Frame> received;
  bool finished = false;
};

asio::awaitable<void> fake_ste(net::Endpoint dtd, std::vector<proto::Frame> frames, std::size_t expect,
                               std::shared_ptr<FakeSte> out) {
  net::ConnectOptions connect_options;
  auto connected = co_await net::connect_tcp(dtd, connect_options);
  if (!connected) {
    out->finished = true;
    co_return;
  }
  auto stream = std::move(connected).value();
  const auto hello = proto::make_frame(Channel::LinkControl, 0, proto::SteHello{proto::kProtocolVersion, proto::kProtocolVersion, "test-ste"});
  (void)co_await stream.write_frame(hello.header, hello.payload);
  auto ack = co_await stream.read_frame(2s);
  out->acked = ack.ok() && is(*ack, MessageType::LinkHelloAck);
  for (const auto& f : frames) (void)co_await stream.write_frame(f.header, f.payload);
  const auto deadline = std::chrono::steady_clock::now() + 3s;
  while (out->received.size() < expect && std::chrono::steady_clock::now() < deadline) {
    auto frame = co_await stream.read_frame(100ms);
    if (!frame) {
      if (frame.failure() == net::ReadFailure::Timeout) continue;
      break;
    }
    if (is(*frame, MessageType::Keepalive)) continue;
    out->received.push_back(std::move(*frame));
  }
  stream.close();
  out->finished = true;
}

dtd::RelayOptions relay_options(net::Endpoint ads) {
  dtd::RelayOptions o;
  o.pairing_key = SecretBytes(Bytes(16, 0x5c));
  o.ads.ads = std::move(ads);
  o.ads.dtd_id = "test-dtd";
  o.ads.reconnect_initial = 20ms;
  o.ads.reconnect_max = 100ms;
  return o;
}

asio::awaitable<void> write_then_read(net::FramedStream s, proto::Frame f,
                                      std::shared_ptr<std::optional<net::ReadResult>> out) {
  (void)co_await s.write_frame(f.header, f.payload);
  out->emplace(co_await s.read_frame(2s));
}

// What dtd-agent's metrics are told (RelayMetrics), recorded.
struct RecordingMetrics final : dtd::RelayMetrics {
  int attempts = 0, failures = 0, sessions = 0, to_ads = 0, to_ste = 0, served = 0;
  bool ste_seen_up = false;
  dtd::RelayLevels now;
  void ads_connect_attempt(bool connected) override {
    ++attempts;
    if (!connected) ++failures;
  }
  void session_relayed() override { ++sessions; }
  void frame_relayed(dtd::RelayDirection d) override { ++(d == dtd::RelayDirection::SteToAds ? to_ads : to_ste); }
  void request_served(dtd::RequestOutcome, std::optional<std::chrono::duration<double>>) override { ++served; }
  void levels(const dtd::RelayLevels& l) override {
    now = l;
    ste_seen_up = ste_seen_up || l.ste_link_up;
  }
};

class DtdRelayTest : public ::testing::Test {
 protected:
  ~DtdRelayTest() override {
    if (relay) relay->stop();
    if (ste_listener) ste_listener->close();
    run_for(io, 100ms);
  }
  void start_relay(dtd::RelayOptions options) {
    relay = std::make_shared<dtd::RelaySession>(io.get_executor(), std::move(options));
    relay->start();
    ste_listener = ads::test::must(dtd::SteListener::open(io.get_executor(), net::Endpoint{"127.0.0.1", 0}));
    ste_listener->start(relay);
  }

  LogCapture log;
  RecordingMetrics metrics;  // before io: the relay reports to it until io is gone
  asio::io_context io;
  std::shared_ptr<dtd::RelaySession> relay;
  std::shared_ptr<dtd::SteListener> ste_listener;
};

TEST_F(DtdRelayTest, ChannelOneFramesPassUnchangedBothWays) {
  auto acceptor = std::make_shared<net::tcp::acceptor>(io, net::tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  const net::Endpoint ads_at{"127.0.0.1", acceptor->local_endpoint().port()};
  proto::HandshakeH2 h2;
  h2.session = 77;
  h2.rn1.fill(1);
  h2.rn3.fill(3);
  h2.rn5.fill(5);
  const std::vector<proto::Frame> replies = {proto::make_frame(Channel::SteAds, 77, h2),
                                             sealed_looking(Channel::SteAds, 77, 300, 0x90),
                                             sealed_looking(Channel::SteAds, 77, 0, 0)};
  auto ads = std::make_shared<FakeAds>();
  asio::co_spawn(io, fake_ads(acceptor, replies, ads), asio::detached);
  start_relay(relay_options(ads_at));
  ASSERT_TRUE(run_until(io, [&] { return relay->ads_connected(); }, 3s));
  EXPECT_TRUE(ads->hello);

  const std::vector<proto::Frame> sent = {h1_frame(), sealed_looking(Channel::SteAds, 77, 1000, 0x10),
                                          sealed_looking(Channel::SteAds, 77, 65536, 0x20)};
  auto ste = std::make_shared<FakeSte>();
  asio::co_spawn(io, fake_ste(ste_listener->local_endpoint(), sent, replies.size(), ste), asio::detached);
  ASSERT_TRUE(run_until(io, [&] { return ste->finished && ads->received.size() >= sent.size(); }, 5s));
  EXPECT_TRUE(ste->acked);

  ASSERT_EQ(ads->received.size(), sent.size());
  for (std::size_t i = 0; i < sent.size(); ++i) EXPECT_EQ(wire(ads->received[i]), wire(sent[i])) << "STE->ADS frame " << i;
  ASSERT_EQ(ste->received.size(), replies.size());
  for (std::size_t i = 0; i < replies.size(); ++i)
    EXPECT_EQ(wire(ste->received[i]), wire(replies[i])) << "ADS->STE frame " << i;
  ads->stop = true;
}

TEST_F(DtdRelayTest, UnreachableAdsIsRetriedWithBackoffAndLoggedThenConnects) {
  std::uint16_t port = 0;
  {
    net::tcp::acceptor probe(io, net::tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    port = probe.local_endpoint().port();
  }  // closed: nothing listens there now
  start_relay(relay_options(net::Endpoint{"127.0.0.1", port}));
  run_for(io, 600ms);
  const std::string where = "ADS unreachable at 127.0.0.1:" + std::to_string(port) + ": ";
  EXPECT_GE(log.count(where), 3u) << log.text();
  EXPECT_GE(log.count("; retrying in "), 3u);
  EXPECT_FALSE(relay->ads_connected());

  // The ADS comes up on that port: the next attempt gets through.
  auto acceptor = std::make_shared<net::tcp::acceptor>(io);
  const net::tcp::endpoint at(asio::ip::address_v4::loopback(), port);
  acceptor->open(at.protocol());
  acceptor->set_option(net::tcp::acceptor::reuse_address(true));
  acceptor->bind(at);
  acceptor->listen();
  auto ads = std::make_shared<FakeAds>();
  asio::co_spawn(io, fake_ads(acceptor, {}, ads), asio::detached);
  ASSERT_TRUE(run_until(io, [&] { return relay->ads_connected(); }, 3s)) << log.text();
  EXPECT_TRUE(log.contains("connected to ADS at 127.0.0.1:" + std::to_string(port))) << log.text();
  EXPECT_TRUE(ads->hello);
  ads->stop = true;
}

TEST_F(DtdRelayTest, MetricsHearFailedAttemptsTheLinksAndEveryFrameRelayed) {
  std::uint16_t port = 0;
  {
    net::tcp::acceptor probe(io, net::tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    port = probe.local_endpoint().port();
  }  // closed: nothing listens there now
  auto options = relay_options(net::Endpoint{"127.0.0.1", port});
  options.metrics = &metrics;
  start_relay(std::move(options));
  ASSERT_TRUE(run_until(io, [&] { return metrics.failures >= 2; }, 3s));
  EXPECT_EQ(metrics.attempts, metrics.failures);
  EXPECT_FALSE(metrics.now.ads_link_up);

  // The ADS comes up on that port: one more attempt, which works.
  auto acceptor = std::make_shared<net::tcp::acceptor>(io);
  const net::tcp::endpoint at(asio::ip::address_v4::loopback(), port);
  acceptor->open(at.protocol());
  acceptor->set_option(net::tcp::acceptor::reuse_address(true));
  acceptor->bind(at);
  acceptor->listen();
  proto::HandshakeH2 h2;
  h2.session = 77;
  const std::vector<proto::Frame> replies = {proto::make_frame(Channel::SteAds, 77, h2),
                                             sealed_looking(Channel::SteAds, 77, 300, 0x90)};
  auto ads = std::make_shared<FakeAds>();
  asio::co_spawn(io, fake_ads(acceptor, replies, ads), asio::detached);
  ASSERT_TRUE(run_until(io, [&] { return relay->ads_connected(); }, 3s));
  EXPECT_EQ(metrics.attempts, metrics.failures + 1);
  EXPECT_TRUE(metrics.now.ads_link_up);

  const std::vector<proto::Frame> sent = {h1_frame(), sealed_looking(Channel::SteAds, 77, 1000, 0x10),
                                          sealed_looking(Channel::SteAds, 77, 20, 0x20)};
  auto ste = std::make_shared<FakeSte>();
  asio::co_spawn(io, fake_ste(ste_listener->local_endpoint(), sent, replies.size(), ste), asio::detached);
  ASSERT_TRUE(run_until(io, [&] { return ste->finished && !metrics.now.ste_link_up; }, 5s));
  EXPECT_TRUE(metrics.ste_seen_up);
  EXPECT_EQ(metrics.to_ads, 3);
  EXPECT_EQ(metrics.to_ste, 2);
  // No L1 handover in this script: no session for the DTD, no one signed on, nothing served.
  EXPECT_EQ(metrics.sessions, 0);
  EXPECT_FALSE(metrics.now.retailer_signed_on);
  EXPECT_EQ(metrics.served, 0);
  EXPECT_EQ(metrics.now.requests_waiting, 0u);
  ads->stop = true;
}

TEST_F(DtdRelayTest, HandshakeWhileTheAdsIsDownIsAnsweredWithAdsUnreachable) {
  std::uint16_t port = 0;
  {
    net::tcp::acceptor probe(io, net::tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    port = probe.local_endpoint().port();
  }
  start_relay(relay_options(net::Endpoint{"127.0.0.1", port}));
  auto ste = std::make_shared<FakeSte>();
  asio::co_spawn(io, fake_ste(ste_listener->local_endpoint(), {h1_frame()}, 1, ste), asio::detached);
  ASSERT_TRUE(run_until(io, [&] { return ste->finished; }, 5s));
  EXPECT_TRUE(ste->acked);
  ASSERT_EQ(ste->received.size(), 1u);
  const auto& f = ste->received[0];
  EXPECT_EQ(f.header.channel, Channel::SteAds);
  ASSERT_TRUE(is(f, MessageType::Error));
  auto e = proto::ErrorMessage::decode(f.payload);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->code, proto::ErrorCode::AdsUnreachable);
  EXPECT_EQ(e->text, "ADS unreachable");
}

TEST_F(DtdRelayTest, ChannelOneBeforeSteHelloIsRefused) {
  auto acceptor = std::make_shared<net::tcp::acceptor>(io, net::tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  auto ads = std::make_shared<FakeAds>();
  asio::co_spawn(io, fake_ads(acceptor, {}, ads), asio::detached);
  start_relay(relay_options(net::Endpoint{"127.0.0.1", acceptor->local_endpoint().port()}));
  ASSERT_TRUE(run_until(io, [&] { return relay->ads_connected(); }, 3s));
  // A raw client that skips the hello.
  net::tcp::socket raw(io);
  raw.connect(net::tcp::endpoint(asio::ip::address_v4::loopback(), ste_listener->local_endpoint().port));
  net::FramedStream stream(std::move(raw));
  auto h1 = h1_frame();
  auto out = std::make_shared<std::optional<net::ReadResult>>();
  asio::co_spawn(io, write_then_read(stream, h1, out), asio::detached);
  ASSERT_TRUE(run_until(io, [&] { return out->has_value(); }, 3s));
  ASSERT_TRUE((*out)->ok());
  EXPECT_TRUE(is(***out, MessageType::Error));
  EXPECT_TRUE(ads->received.empty());  // nothing reached the ADS
  ads->stop = true;
}

// ---- TerminalStatus: the terminal's display, for the console; never to the ADS ----

proto::Frame status_frame(const proto::TerminalStatus& status) {
  return proto::make_frame(Channel::LinkControl, 0, status);
}

TEST_F(DtdRelayTest, TerminalStatusReachesTheCallbackAndNothingGoesToTheAds) {
  auto acceptor = std::make_shared<net::tcp::acceptor>(io, net::tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  proto::HandshakeH2 h2;
  h2.session = 77;
  const std::vector<proto::Frame> replies = {proto::make_frame(Channel::SteAds, 77, h2),
                                             sealed_looking(Channel::SteAds, 77, 40, 0x90)};
  auto ads = std::make_shared<FakeAds>();
  asio::co_spawn(io, fake_ads(acceptor, replies, ads), asio::detached);
  auto options = relay_options(net::Endpoint{"127.0.0.1", acceptor->local_endpoint().port()});
  std::vector<proto::TerminalStatus> seen;
  options.on_terminal_status = [&seen](const proto::TerminalStatus& s) { seen.push_back(s); };
  start_relay(std::move(options));
  ASSERT_TRUE(run_until(io, [&] { return relay->ads_connected(); }, 3s));

  // A malformed status (unknown prompt), one with numbers its prompt does not take, and one marked
  // sealed: each logged and dropped, none answered (an Error would end the terminal's session).
  auto unknown = status_frame(proto::TerminalStatus::of(proto::TerminalPrompt::Ready));
  unknown.payload[0] = 0xee;
  auto bad_numbers = status_frame(proto::TerminalStatus::of(proto::TerminalPrompt::Ready));
  bad_numbers.payload = Bytes{0x01, 0x00, 0x01, 0x00, 0x01};
  auto sealed = status_frame(proto::TerminalStatus::of(proto::TerminalPrompt::Ready));
  sealed.header.flags = proto::kFlagSealed;
  // Before a session and while one is in flight (after its H1).
  const std::vector<proto::Frame> sent = {status_frame(proto::TerminalStatus::of(proto::TerminalPrompt::SignedOn)),
                                          unknown,
                                          bad_numbers,
                                          sealed,
                                          h1_frame(),
                                          status_frame(proto::TerminalStatus::writing(3, 9)),
                                          status_frame(proto::TerminalStatus::of(proto::TerminalPrompt::CardDone))};
  auto ste = std::make_shared<FakeSte>();
  asio::co_spawn(io, fake_ste(ste_listener->local_endpoint(), sent, replies.size(), ste), asio::detached);
  ASSERT_TRUE(run_until(io, [&] { return seen.size() >= 3 && ste->received.size() >= replies.size(); }, 5s))
      << log.text();
  EXPECT_TRUE(ste->acked);
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0], proto::TerminalStatus::of(proto::TerminalPrompt::SignedOn));
  EXPECT_EQ(seen[1], proto::TerminalStatus::writing(3, 9));
  EXPECT_EQ(seen[2], proto::TerminalStatus::of(proto::TerminalPrompt::CardDone));
  ASSERT_TRUE(relay->terminal_status().has_value());  // only the latest is kept
  EXPECT_EQ(*relay->terminal_status(), proto::TerminalStatus::of(proto::TerminalPrompt::CardDone));
  EXPECT_EQ(log.count("malformed TerminalStatus from the STE dropped"), 3u) << log.text();

  // The STE got the ADS's answers and nothing else: no Error for any status.
  ASSERT_TRUE(run_until(io, [&] { return ste->finished; }, 5s));
  ASSERT_EQ(ste->received.size(), replies.size());
  for (std::size_t i = 0; i < replies.size(); ++i)
    EXPECT_EQ(wire(ste->received[i]), wire(replies[i])) << "ADS->STE frame " << i;
  // The terminal gone, so is what it showed.
  ASSERT_TRUE(run_until(io, [&] { return !relay->ste_connected(); }, 3s));
  EXPECT_FALSE(relay->terminal_status().has_value());
  // The ADS saw the H1 (and, the STE gone, the DTD's end of session 77) and nothing of the statuses,
  // on any channel.
  run_for(io, 100ms);
  ASSERT_GE(ads->received.size(), 1u);
  EXPECT_TRUE(is(ads->received[0], MessageType::H1));
  for (std::size_t i = 1; i < ads->received.size(); ++i) {
    EXPECT_TRUE(is(ads->received[i], MessageType::Error)) << "frame " << i;
    EXPECT_EQ(ads->received[i].header.session, 77u);
  }
  for (const auto& f : ads->link_control) EXPECT_FALSE(is(f, MessageType::TerminalStatus));
  EXPECT_TRUE(ads->link_control.empty());
  ads->stop = true;
}

TEST_F(DtdRelayTest, TerminalStatusBeforeSteHelloIsDropped) {
  auto acceptor = std::make_shared<net::tcp::acceptor>(io, net::tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  auto ads = std::make_shared<FakeAds>();
  asio::co_spawn(io, fake_ads(acceptor, {}, ads), asio::detached);
  auto options = relay_options(net::Endpoint{"127.0.0.1", acceptor->local_endpoint().port()});
  int calls = 0;
  options.on_terminal_status = [&calls](const proto::TerminalStatus&) { ++calls; };
  start_relay(std::move(options));
  ASSERT_TRUE(run_until(io, [&] { return relay->ads_connected(); }, 3s));
  net::tcp::socket raw(io);
  raw.connect(net::tcp::endpoint(asio::ip::address_v4::loopback(), ste_listener->local_endpoint().port));
  net::FramedStream stream(std::move(raw));
  auto out = std::make_shared<std::optional<net::ReadResult>>();
  asio::co_spawn(io,
                 write_then_read(stream, status_frame(proto::TerminalStatus::of(proto::TerminalPrompt::Ready)), out),
                 asio::detached);
  ASSERT_TRUE(run_until(io, [&] { return log.contains("TerminalStatus from the STE before its SteHello dropped"); }, 3s))
      << log.text();
  EXPECT_EQ(calls, 0);
  EXPECT_FALSE(relay->terminal_status().has_value());
  stream.close();
  ads->stop = true;
}

// ---- the whole chain: test STE -> relay -> real ADS adapter over SQLite ----

struct SteRun {
  bool established = false;
  std::uint32_t session = 0;
  std::vector<proto::Close> closes;
  bool finished = false;
};

// Runs an STE handshake through the DTD; once established waits until `relay` has its echo back, then
// either terminates the session (vanish = false) or drops the link without a word (vanish = true).
asio::awaitable<void> real_ste(net::Endpoint dtd, proto::RetailerKeys keys, std::shared_ptr<dtd::RelaySession> relay,
                               bool vanish, std::shared_ptr<SteRun> out) {
  net::ConnectOptions connect_options;
  auto connected = co_await net::connect_tcp(dtd, connect_options);
  auto stream = std::move(connected).value();
  const auto hello = proto::make_frame(Channel::LinkControl, 0, proto::SteHello{proto::kProtocolVersion, proto::kProtocolVersion, "test-ste"});
  (void)co_await stream.write_frame(hello.header, hello.payload);
  (void)co_await stream.read_frame(2s);  // LinkHelloAck
  proto::SteHandshake ste;
  ste.pair(SecretBytes(Bytes(16, 0x5c)));  // as relay_options() pairs the DTD
  ste.identify(cardperso::testing::test_device_signer());  // as AdsUnderTest::enrol enrols it
  std::deque<proto::Action> todo;
  for (auto& a : ste.start("8944001234567890", 1, std::move(keys), proto::Clock::now())) todo.push_back(std::move(a));
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  bool ended = false;
  while (std::chrono::steady_clock::now() < deadline && out->closes.empty()) {
    while (!todo.empty()) {
      auto a = std::move(todo.front());
      todo.pop_front();
      if (auto* f = std::get_if<proto::SendFrame>(&a)) {
        (void)co_await stream.write_frame(f->frame.header, f->frame.payload);
      } else if (auto* e = std::get_if<proto::SessionEstablished>(&a)) {
        out->established = true;
        out->session = e->session;
      } else if (auto* c = std::get_if<proto::Close>(&a)) {
        out->closes.push_back(*c);
      }
    }
    if (out->established && !ended && relay->echo_ok()) {
      ended = true;
      if (vanish) break;
      for (auto& a : ste.terminate()) todo.push_back(std::move(a));
      continue;
    }
    auto frame = co_await stream.read_frame(50ms);
    if (!frame) {
      if (frame.failure() == net::ReadFailure::Timeout) continue;
      break;
    }
    if (frame->header.channel == Channel::LinkControl) continue;
    for (auto& a : ste.on_frame(*frame, proto::Clock::now())) todo.push_back(std::move(a));
  }
  stream.close();
  out->finished = true;
}

class DtdWithAdsTest : public DtdRelayTest {
 protected:
  void SetUp() override {
    ads.enrol("8944001234567890", make_keys(0x33));
    auto options = relay_options(ads.endpoint());
    options.echo_text = "hello over channel 2";
    start_relay(options);
    ASSERT_TRUE(run_until(io, [&] { return relay->ads_connected(); }, 3s));
  }
  ads::SessionRecord last_session() { return last_finished_session(io, ads); }
  AdsUnderTest ads{io};
};

TEST_F(DtdWithAdsTest, SessionIsRelayedAndTheDtdEchoComesBackOnChannelTwo) {
  auto ste = std::make_shared<SteRun>();
  asio::co_spawn(io, real_ste(ste_listener->local_endpoint(), make_keys(0x33), relay, false, ste), asio::detached);
  ASSERT_TRUE(run_until(io, [&] { return ste->finished; }, 8s));
  EXPECT_TRUE(ste->established);
  EXPECT_TRUE(relay->echo_ok());
  EXPECT_TRUE(log.contains("dtd channel echo ok")) << log.text();
  const std::string id = std::to_string(ste->session);
  EXPECT_TRUE(log.contains("session " + id + " relayed")) << log.text();
  EXPECT_EQ(last_session().outcome, "completed");
  ASSERT_TRUE(run_until(io, [&] { return log.contains("session " + id + " ended"); }, 3s)) << log.text();
  EXPECT_EQ(relay->sessions_relayed(), 1u);
}

TEST_F(DtdWithAdsTest, SteVanishingMidSessionEndsItAtTheAds) {
  auto ste = std::make_shared<SteRun>();
  asio::co_spawn(io, real_ste(ste_listener->local_endpoint(), make_keys(0x33), relay, true, ste), asio::detached);
  ASSERT_TRUE(run_until(io, [&] { return ste->finished; }, 8s));
  ASSERT_TRUE(ste->established);
  const auto s = last_session();
  EXPECT_EQ(s.outcome, "aborted");
  const std::string id = std::to_string(ste->session);
  EXPECT_TRUE(log.contains("session " + id + " ended: STE link lost")) << log.text();
  EXPECT_TRUE(log.contains("session " + id + " ended: aborted")) << log.text();
}

}  // namespace
}  // namespace cardperso::daemon_test
