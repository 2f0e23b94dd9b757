// The relay's ADS link with several addresses, over loopback TCP against fake ADSes that only answer
// the LinkHello (no processes): a closed first address passed over, and the fail-back, which waits
// while a handshake is in flight on the link and moves the idle link to the preferred ADS.
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>

#include "cardperso/dtd/relay_session.hpp"
#include "cardperso/dtd/ste_link.hpp"
#include "cardperso/net/tcp_connector.hpp"
#include "cardperso/proto/link.hpp"
#include "cardperso/proto/messages.hpp"

namespace cardperso::dtd {
namespace {

namespace asio = net::asio;
using namespace std::chrono_literals;
using proto::Channel;
using proto::MessageType;

bool is(const proto::Frame& f, MessageType t) { return f.header.type == static_cast<std::uint8_t>(t); }

bool run_until(asio::io_context& io, const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    if (io.stopped()) io.restart();
    io.run_for(10ms);
  }
  return true;
}

void run_for(asio::io_context& io, std::chrono::milliseconds d) {
  run_until(io, [] { return false; }, d);
}

// The relay's log lines, for the contract's messages.
class LogCapture {
 public:
  LogCapture() {
    previous_ = spdlog::default_logger();
    auto logger = std::make_shared<spdlog::logger>("capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(out_));
    logger->set_level(spdlog::level::debug);
    spdlog::set_default_logger(logger);
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  std::string text() const { return out_.str(); }
  bool contains(const std::string& s) const { return text().find(s) != std::string::npos; }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::logger> previous_;
};

// An ADS that answers every link's LinkHello and records what comes on channel 1; `answer` is written
// to the latest link on request (the test's refusal of a handshake).
struct FakeAds {
  std::shared_ptr<net::tcp::acceptor> acceptor;
  int hellos = 0;
  int links_closed = 0;
  std::vector<proto::Frame> received;
  std::optional<net::FramedStream> latest;
  bool stop = false;
};

asio::awaitable<void> serve_link(std::shared_ptr<FakeAds> ads, net::FramedStream stream) {
  while (!ads->stop) {
    auto frame = co_await stream.read_frame(50ms);
    if (!frame) {
      if (frame.failure() == net::ReadFailure::Timeout) continue;
      break;
    }
    if (frame->header.channel == Channel::LinkControl && is(*frame, MessageType::LinkHello)) {
      ++ads->hellos;
      ads->latest = stream;
      const auto ack = proto::make_frame(Channel::LinkControl, 0, proto::LinkHelloAck{proto::kProtocolVersion});
      (void)co_await stream.write_frame(ack.header, ack.payload);
    } else if (frame->header.channel != Channel::LinkControl) {
      ads->received.push_back(std::move(*frame));
    }
  }
  stream.close();
  ++ads->links_closed;
}

asio::awaitable<void> accept_links(std::shared_ptr<FakeAds> ads) {
  while (!ads->stop) {
    net::tcp::socket socket(ads->acceptor->get_executor());
    boost::system::error_code ec;
    co_await ads->acceptor->async_accept(socket, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    asio::co_spawn(ads->acceptor->get_executor(), serve_link(ads, net::FramedStream(std::move(socket))),
                   asio::detached);
  }
}

std::shared_ptr<FakeAds> start_fake_ads(asio::io_context& io, std::uint16_t port) {
  auto ads = std::make_shared<FakeAds>();
  ads->acceptor = std::make_shared<net::tcp::acceptor>(io);
  const net::tcp::endpoint at(asio::ip::address_v4::loopback(), port);
  ads->acceptor->open(at.protocol());
  ads->acceptor->set_option(net::tcp::acceptor::reuse_address(true));
  ads->acceptor->bind(at);
  ads->acceptor->listen();
  asio::co_spawn(io, accept_links(ads), asio::detached);
  return ads;
}

std::uint16_t closed_port(asio::io_context& io) {
  net::tcp::acceptor probe(io, net::tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  return probe.local_endpoint().port();
}

// A terminal that says hello and starts a handshake (H1), then keeps its link open.
asio::awaitable<void> ste_starting_a_handshake(net::Endpoint dtd, std::shared_ptr<bool> stop) {
  const net::ConnectOptions connect_options;  // connect_tcp keeps a reference across its suspensions
  auto connected = co_await net::connect_tcp(dtd, connect_options);
  if (!connected) co_return;
  auto stream = std::move(connected).value();
  const auto hello =
      proto::make_frame(Channel::LinkControl, 0, proto::SteHello{proto::kProtocolVersion, proto::kProtocolVersion, "ste"});
  (void)co_await stream.write_frame(hello.header, hello.payload);
  (void)co_await stream.read_frame(2s);
  proto::HandshakeH1 h1;
  h1.key_version = 1;
  h1.serial = "8944001234567890";
  const auto frame = proto::make_frame(Channel::SteAds, 0, h1);
  (void)co_await stream.write_frame(frame.header, frame.payload);
  while (!*stop) (void)co_await stream.read_frame(50ms);
  stream.close();
}

struct LinkedCalls final : RelayMetrics {
  struct Call {
    std::size_t index;
    std::string address;
    bool failover, failback;
  };
  std::vector<Call> calls;
  void ads_connect_attempt(bool) override {}
  void session_relayed() override {}
  void frame_relayed(RelayDirection) override {}
  void request_served(RequestOutcome, std::optional<std::chrono::duration<double>>) override {}
  void levels(const RelayLevels&) override {}
  void ads_linked(std::size_t index, const std::string& address, bool failover, bool failback) override {
    calls.push_back({index, address, failover, failback});
  }
};

class RelayFailover : public ::testing::Test {
 protected:
  ~RelayFailover() override {
    *ste_stop = true;
    for (auto& ads : fakes) {
      ads->stop = true;
      ads->acceptor->close();
    }
    if (relay) relay->stop();
    if (ste_listener) ste_listener->close();
    run_for(io, 200ms);
  }

  RelayOptions options(net::Endpoint first, net::Endpoint second) {
    RelayOptions o;
    o.pairing_key = SecretBytes(Bytes(16, 0x5c));
    o.ads.ads = std::move(first);
    o.ads.more_ads = {std::move(second)};
    o.ads.dtd_id = "test-dtd";
    o.ads.reconnect_initial = 20ms;
    o.ads.reconnect_max = 100ms;
    o.ads.failback_every = 100ms;
    o.metrics = &metrics;
    return o;
  }

  void start(RelayOptions o) {
    relay = std::make_shared<RelaySession>(io.get_executor(), std::move(o));
    relay->start();
    auto opened = SteListener::open(io.get_executor(), net::Endpoint{"127.0.0.1", 0});
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    ste_listener = *opened;
    ste_listener->start(relay);
  }

  LogCapture log;
  LinkedCalls metrics;  // before io: the relay reports to it until io is gone
  asio::io_context io;
  std::vector<std::shared_ptr<FakeAds>> fakes;
  std::shared_ptr<RelaySession> relay;
  std::shared_ptr<SteListener> ste_listener;
  std::shared_ptr<bool> ste_stop = std::make_shared<bool>(false);
};

TEST_F(RelayFailover, AClosedFirstAddressIsPassedOverAtOnce) {
  const auto a = closed_port(io);
  fakes.push_back(start_fake_ads(io, 0));
  const auto b = fakes[0]->acceptor->local_endpoint().port();
  auto o = options({"127.0.0.1", a}, {"127.0.0.1", b});
  o.ads.failback_every = 0ms;  // this case is about connecting only
  start(std::move(o));
  ASSERT_TRUE(run_until(io, [&] { return relay->ads_connected(); }, 3s)) << log.text();
  const std::string at_a = "127.0.0.1:" + std::to_string(a), at_b = "127.0.0.1:" + std::to_string(b);
  EXPECT_TRUE(log.contains("ADS unreachable at " + at_a + ": ")) << log.text();
  EXPECT_TRUE(log.contains("; trying " + at_b)) << log.text();
  EXPECT_FALSE(log.contains("retrying in")) << "no backoff before the round is over\n" << log.text();
  EXPECT_TRUE(log.contains("connected to ADS at " + at_b)) << log.text();
  EXPECT_EQ(relay->ads_failover().linked(), 1u);
  EXPECT_EQ(relay->ads_failover().failovers(), 1u);
  ASSERT_EQ(metrics.calls.size(), 1u);
  EXPECT_EQ(metrics.calls[0].index, 1u);
  EXPECT_EQ(metrics.calls[0].address, at_b);
  EXPECT_TRUE(metrics.calls[0].failover);
  EXPECT_FALSE(metrics.calls[0].failback);
}

TEST_F(RelayFailover, TheLinkFailsBackOnlyOnceNoHandshakeIsInFlight) {
  const auto a = closed_port(io);
  fakes.push_back(start_fake_ads(io, 0));
  auto ads_b = fakes[0];
  const auto b = ads_b->acceptor->local_endpoint().port();
  start(options({"127.0.0.1", a}, {"127.0.0.1", b}));
  ASSERT_TRUE(run_until(io, [&] { return relay->ads_connected(); }, 3s)) << log.text();
  EXPECT_EQ(relay->ads_failover().linked(), 1u);

  // A handshake in flight on B, then A comes up: the link stays where the handshake is.
  asio::co_spawn(io, ste_starting_a_handshake(ste_listener->local_endpoint(), ste_stop), asio::detached);
  ASSERT_TRUE(run_until(io, [&] { return !ads_b->received.empty(); }, 3s)) << log.text();
  EXPECT_TRUE(is(ads_b->received[0], MessageType::H1));
  fakes.push_back(start_fake_ads(io, a));
  auto ads_a = fakes[1];
  run_for(io, 600ms);  // six fail-back periods
  EXPECT_EQ(ads_a->hellos, 0) << log.text();
  EXPECT_EQ(relay->ads_failover().linked(), 1u);
  EXPECT_EQ(ads_b->links_closed, 0);

  // B refuses the handshake: nothing is open any more, and the link moves to A within a period or two.
  const auto refusal = proto::make_frame(Channel::SteAds, 0, proto::ErrorMessage::make(proto::ErrorCode::Busy, "busy"));
  auto b_link = *ads_b->latest;
  asio::co_spawn(
      io, [b_link, refusal]() mutable -> asio::awaitable<void> { (void)co_await b_link.write_frame(refusal.header, refusal.payload); },
      asio::detached);
  ASSERT_TRUE(run_until(io, [&] { return ads_a->hellos == 1 && relay->ads_connected(); }, 2s)) << log.text();
  ASSERT_TRUE(run_until(io, [&] { return ads_b->links_closed == 1; }, 2s)) << "B's link is let go\n" << log.text();
  const std::string at_a = "127.0.0.1:" + std::to_string(a);
  EXPECT_TRUE(log.contains("failing back to the ADS at " + at_a)) << log.text();
  EXPECT_FALSE(log.contains("ADS link lost")) << "a fail-back is no lost link\n" << log.text();
  EXPECT_EQ(relay->ads_failover().linked(), 0u);
  EXPECT_EQ(relay->ads_failover().failbacks(), 1u);
  ASSERT_EQ(metrics.calls.size(), 2u);
  EXPECT_EQ(metrics.calls[1].index, 0u);
  EXPECT_EQ(metrics.calls[1].address, at_a);
  EXPECT_FALSE(metrics.calls[1].failover);
  EXPECT_TRUE(metrics.calls[1].failback);
  // On the most preferred address: no more probes; one link to A only.
  run_for(io, 400ms);
  EXPECT_EQ(ads_a->hellos, 1);
}

}  // namespace
}  // namespace cardperso::dtd
