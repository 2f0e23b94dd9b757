#pragma once
// An STE (proto::SteHandshake) and a DTD (proto::DtdRelay) driven in the test, talking to a real ADS
// over one loopback TCP connection: what a retailer's counter looks like from the ADS.
#include <deque>
#include <string>
#include <vector>

#include "cardperso/net/tcp_connector.hpp"
#include "cardperso/proto/dtd_relay.hpp"
#include "cardperso/proto/link.hpp"
#include "cardperso/proto/ste_handshake.hpp"
#include "cardperso/testing/counter_cores.hpp"
#include "daemon_test_support.hpp"

namespace cardperso::daemon_test {

struct CounterPlan {
  net::Endpoint ads;
  std::string serial;
  std::uint8_t key_version = 1;
  proto::RetailerKeys keys;
  bool echo = true;  // after establishment: Echo on channel 1 (STE) and channel 2 (DTD), then Terminate
  std::chrono::milliseconds limit{5'000};
};

struct CounterOutcome {
  bool linked = false;  // LinkHelloAck received
  bool ste_established = false, dtd_established = false;
  std::vector<std::string> ste_echoes, dtd_echoes;
  std::vector<proto::Close> ste_closes, dtd_closes;
  std::uint32_t session = 0;
  std::string failure;  // transport problem, if any
  bool finished = false;
};

inline const std::string kSteEcho = "echo from the STE";
inline const std::string kDtdEcho = "echo from the DTD";

// The counter's STE and DTD cores through the shared in-memory wiring; what they send the ADS
// waits in `outbox` for the TCP loop.
class Counter {
 public:
  explicit Counter(CounterOutcome& out, bool echo) : out_(out), echo_(echo), cores_(ste_, dtd_, hooks()) {}

  void ste_actions(proto::Actions actions) { cores_.from_ste(std::move(actions)); }
  void dtd_actions(proto::Actions actions) { cores_.from_dtd(std::move(actions)); }

  // Done: the STE's session is over, and if the DTD took part its channel ended too.
  bool done() const { return !out_.ste_closes.empty() && (!out_.dtd_established || !out_.dtd_closes.empty()); }

  proto::SteHandshake& ste() { return ste_; }
  void from_ads(proto::Frame frame) { cores_.from_ads(std::move(frame)); }
  std::deque<proto::Frame> outbox;

 private:
  cardperso::testing::CounterHooks hooks() {
    cardperso::testing::CounterHooks h;
    h.to_ads = [this](proto::Frame f) { outbox.push_back(std::move(f)); };
    h.now = [] { return proto::Clock::now(); };
    h.on_action = [this](proto::Peer from, proto::Action& a) {
      if (from == proto::Peer::Ste)
        on_ste(a);
      else
        on_dtd(a);
    };
    h.after_batch = [this] { maybe_terminate(); };
    return h;
  }
  void on_ste(proto::Action& a) {
    if (auto* e = std::get_if<proto::SessionEstablished>(&a)) {
      out_.ste_established = true;
      out_.session = e->session;
      if (echo_) ste_actions(ste_.send(proto::MessageType::Echo, view(kSteEcho), proto::Clock::now()));
    } else if (auto* d = std::get_if<proto::Deliver>(&a)) {
      out_.ste_echoes.emplace_back(d->plaintext.view().begin(), d->plaintext.view().end());
    } else if (auto* c = std::get_if<proto::Close>(&a)) {
      out_.ste_closes.push_back(*c);
    }
  }
  void on_dtd(proto::Action& a) {
    if (std::get_if<proto::SessionEstablished>(&a)) {
      out_.dtd_established = true;
      if (echo_) dtd_actions(dtd_.send(proto::MessageType::Echo, view(kDtdEcho)));
    } else if (auto* d = std::get_if<proto::Deliver>(&a)) {
      out_.dtd_echoes.emplace_back(d->plaintext.view().begin(), d->plaintext.view().end());
    } else if (auto* c = std::get_if<proto::Close>(&a)) {
      out_.dtd_closes.push_back(*c);
    }
  }
  void maybe_terminate() {
    if (echo_ && !terminated_ && !out_.ste_echoes.empty() && !out_.dtd_echoes.empty()) {
      terminated_ = true;
      ste_actions(ste_.terminate());
    }
  }
  CounterOutcome& out_;
  bool echo_;
  bool terminated_ = false;
  proto::SteHandshake ste_;
  proto::DtdRelay dtd_;
  cardperso::testing::CounterCores cores_;
};

inline asio::awaitable<void> run_counter(CounterPlan plan, std::shared_ptr<CounterOutcome> out) {
  net::ConnectOptions connect_options;
  auto connected = co_await net::connect_tcp(plan.ads, connect_options);
  if (!connected) {
    out->failure = connected.error().message;
    out->finished = true;
    co_return;
  }
  net::FramedStream stream = std::move(connected).value();
  const auto hello = proto::make_frame(proto::Channel::LinkControl, 0, proto::LinkHello{proto::kProtocolVersion, proto::kProtocolVersion, "test-dtd"});
  (void)co_await stream.write_frame(hello.header, hello.payload);
  auto ack = co_await stream.read_frame(2s);
  out->linked = ack.ok() && ack->header.type == static_cast<std::uint8_t>(proto::MessageType::LinkHelloAck);
  Counter counter(*out, plan.echo);
  counter.ste_actions(counter.ste().start(plan.serial, plan.key_version, std::move(plan.keys), proto::Clock::now()));
  const auto deadline = std::chrono::steady_clock::now() + plan.limit;
  while (std::chrono::steady_clock::now() < deadline) {
    while (!counter.outbox.empty()) {
      auto f = std::move(counter.outbox.front());
      counter.outbox.pop_front();
      auto w = co_await stream.write_frame(f.header, f.payload);
      if (!w) out->failure = w.error().message;
    }
    if (counter.done()) break;
    auto frame = co_await stream.read_frame(100ms);
    if (!frame) {
      if (frame.failure() == net::ReadFailure::Timeout) continue;
      out->failure = frame.error().message;
      break;
    }
    counter.from_ads(std::move(*frame));
  }
  stream.close();
  out->finished = true;
}

}  // namespace cardperso::daemon_test
