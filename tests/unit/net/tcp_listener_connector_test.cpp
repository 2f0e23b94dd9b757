// The accept loop, connection limit, graceful stop, connect/reconnect and SIGTERM handling over
// real loopback TCP.
#include <csignal>

#include "cardperso/net/shutdown_signals.hpp"
#include "cardperso/net/tcp_connector.hpp"
#include "cardperso/net/tcp_listener.hpp"
#include "net_test_support.hpp"

namespace cardperso::net {
namespace {

using namespace test;

// Answers one frame, then ends the session.
asio::awaitable<void> answer_once(FramedStream stream) {
  auto frame = co_await stream.read_frame(10s);
  if (frame.ok()) (void)co_await stream.write_frame(frame->header, frame->payload);
}

asio::awaitable<bool> round_trip(FramedStream stream, std::uint8_t seed) {
  const Bytes payload = pattern(500, seed);
  auto sent = co_await stream.write_frame(header(seed), payload);
  if (!sent.ok()) co_return false;
  auto back = co_await stream.read_frame(3s);
  co_return back.ok() && back->payload == payload && back->header.type == seed;
}

std::shared_ptr<TcpListener> open_listener(asio::io_context& io, ConnectionHandler handler, std::size_t max = 64,
                                           std::uint16_t port = 0) {
  auto listener = TcpListener::open(io, Endpoint{"127.0.0.1", port},
                                    ListenerOptions{.max_connections = max, .stream = {}}, std::move(handler));
  if (!listener.ok()) throw std::runtime_error(listener.error().message);
  (*listener)->start();
  return *listener;
}

Endpoint endpoint_of(const TcpListener& listener) { return Endpoint{"127.0.0.1", listener.local_endpoint().port()}; }

std::uint16_t free_port(asio::io_context& io) {
  tcp::acceptor probe(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  return probe.local_endpoint().port();
}

FramedStream connect(asio::io_context& io, const Endpoint& to) {
  auto c = run_task(io, connect_tcp(to, ConnectOptions{.timeout = 2s, .stream = {}}));
  if (!c.ok()) throw std::runtime_error(c.error().message);
  return *c;
}

TEST(TcpListener, RefusesConnectionsBeyondTheMaximumWhileServingTheFirst) {
  asio::io_context io;
  auto listener = open_listener(io, &echo_frames, 2);
  const auto at = endpoint_of(*listener);
  auto first = connect(io, at);
  auto second = connect(io, at);
  EXPECT_TRUE(run_task(io, round_trip(first, 1)));
  EXPECT_TRUE(run_task(io, round_trip(second, 2)));
  EXPECT_EQ(listener->active_connections(), 2u);

  auto third = connect(io, at);  // the kernel completes the handshake; the listener then closes it
  auto refused = run_task(io, third.read_frame(3s));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.failure(), ReadFailure::PeerClosed) << refused.error().message;
  EXPECT_EQ(listener->refused_connections(), 1u);

  EXPECT_TRUE(run_task(io, round_trip(first, 3)));
  EXPECT_TRUE(run_task(io, round_trip(second, 4)));

  // A slot frees up when a client leaves.
  first.close();
  ASSERT_TRUE(run_until(io, [&] { return listener->active_connections() == 1; }, 3s));
  auto fourth = connect(io, at);
  EXPECT_TRUE(run_task(io, round_trip(fourth, 5)));
  EXPECT_EQ(listener->refused_connections(), 1u);

  bool stopped = false;
  listener->stop(100ms, [&] { stopped = true; });
  ASSERT_TRUE(run_until(io, [&] { return stopped; }, 5s));
}

TEST(TcpListener, GracefulStopLetsSessionsFinishAndRefusesNewOnes) {
  asio::io_context io;
  auto listener = open_listener(io, &answer_once);
  const auto at = endpoint_of(*listener);
  auto client = connect(io, at);
  ASSERT_TRUE(run_until(io, [&] { return listener->active_connections() == 1; }, 3s));

  bool stopped = false;
  const auto started = Clock::now();
  listener->stop(3s, [&] { stopped = true; });
  auto late = run_task(io, connect_tcp(at, ConnectOptions{.timeout = 1s, .stream = {}}));
  EXPECT_FALSE(late.ok()) << "the listener still accepts after stop()";
  EXPECT_FALSE(stopped) << "stop() did not wait for the open session";

  // The session is still served, and its end completes the stop well before the grace period.
  EXPECT_TRUE(run_task(io, round_trip(client, 7)));
  ASSERT_TRUE(run_until(io, [&] { return stopped; }, 3s));
  EXPECT_LT(Clock::now() - started, 2s);
  EXPECT_EQ(listener->active_connections(), 0u);
}

TEST(TcpListener, StopClosesSessionsThatOutliveTheGracePeriod) {
  asio::io_context io;
  auto listener = open_listener(io, &echo_frames);
  auto client = connect(io, endpoint_of(*listener));
  ASSERT_TRUE(run_until(io, [&] { return listener->active_connections() == 1; }, 3s));
  bool stopped = false;
  const auto started = Clock::now();
  listener->stop(200ms, [&] { stopped = true; });
  auto closed = run_task(io, client.read_frame(5s));
  ASSERT_FALSE(closed.ok());
  EXPECT_EQ(closed.failure(), ReadFailure::PeerClosed);
  ASSERT_TRUE(run_until(io, [&] { return stopped; }, 3s));
  EXPECT_GE(Clock::now() - started, 190ms);
  EXPECT_EQ(listener->active_connections(), 0u);
}

TEST(TcpListener, ReportsAPortInUse) {
  asio::io_context io;
  auto first = open_listener(io, &echo_frames);
  auto second = TcpListener::open(io, endpoint_of(*first), ListenerOptions{}, &echo_frames);
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.error().message.find("cannot listen on 127.0.0.1:"), std::string::npos) << second.error().message;
  bool stopped = false;
  first->stop(10ms, [&] { stopped = true; });
  EXPECT_TRUE(run_until(io, [&] { return stopped; }, 2s));
}

TEST(TcpConnector, ClosedPortFailsWithAClearError) {
  asio::io_context io;
  const Endpoint nowhere{"127.0.0.1", free_port(io)};
  auto c = run_task(io, connect_tcp(nowhere, ConnectOptions{.timeout = 2s, .stream = {}}));
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("cannot connect to " + nowhere.to_string()), std::string::npos)
      << c.error().message;
  EXPECT_NE(c.error().message.find("is the server running?"), std::string::npos);
  // The default-options overload (a plain function, see tcp_connector.hpp) behaves the same.
  auto d = run_task(io, connect_tcp(nowhere));
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.error().message.find("is the server running?"), std::string::npos) << d.error().message;
}

struct Appear {
  asio::io_context* io;
  std::uint16_t port;
  std::shared_ptr<TcpListener>* slot;
  void operator()(const boost::system::error_code& ec) const {
    if (!ec) *slot = open_listener(*io, &echo_frames, 64, port);
  }
};

TEST(TcpConnector, BackoffRetriesUntilAListenerAppears) {
  asio::io_context io;
  const std::uint16_t port = free_port(io);
  std::shared_ptr<TcpListener> listener;
  asio::steady_timer later(io, 400ms);
  later.async_wait(Appear{&io, port, &listener});

  const auto started = Clock::now();
  auto c = run_task(io, connect_with_backoff(Endpoint{"127.0.0.1", port},
                                             ReconnectOptions{.connect = {.timeout = 1s, .stream = {}},
                                                              .backoff = {.initial = 20ms, .maximum = 100ms, .jitter = 0.2},
                                                              .max_attempts = 0,
                                                              .stop = nullptr}));
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_GE(Clock::now() - started, 400ms);
  EXPECT_LT(Clock::now() - started, 3s);
  ASSERT_TRUE(listener);
  EXPECT_TRUE(run_task(io, round_trip(*c, 9)));
  bool stopped = false;
  listener->stop(50ms, [&] { stopped = true; });
  EXPECT_TRUE(run_until(io, [&] { return stopped; }, 2s));
}

TEST(TcpConnector, GivesUpAfterMaxAttemptsOrWhenStopped) {
  asio::io_context io;
  const Endpoint nowhere{"127.0.0.1", free_port(io)};
  auto limited = run_task(io, connect_with_backoff(nowhere, ReconnectOptions{.connect = {.timeout = 1s, .stream = {}},
                                                                             .backoff = {.initial = 10ms, .maximum = 20ms, .jitter = 0},
                                                                             .max_attempts = 3,
                                                                             .stop = nullptr}));
  ASSERT_FALSE(limited.ok());
  EXPECT_NE(limited.error().message.find("gave up after 3 attempts"), std::string::npos) << limited.error().message;

  auto stop = std::make_shared<StopSignal>();
  asio::steady_timer later(io, 200ms);
  later.async_wait([stop](const boost::system::error_code&) { stop->request(); });
  const auto started = Clock::now();
  auto stopped = run_task(io, connect_with_backoff(nowhere, ReconnectOptions{.connect = {.timeout = 1s, .stream = {}},
                                                                             .backoff = {.initial = 5s, .maximum = 5s, .jitter = 0},
                                                                             .max_attempts = 0,
                                                                             .stop = stop}));
  ASSERT_FALSE(stopped.ok());
  EXPECT_NE(stopped.error().message.find("stop requested"), std::string::npos) << stopped.error().message;
  EXPECT_LT(Clock::now() - started, 1s);  // not the 5 s backoff sleep
}

struct StopOnSignal {
  std::shared_ptr<TcpListener> listener;
  ShutdownSignals* signals;
  int* received;
  void operator()(int signal) const {
    *received = signal;
    listener->stop(1s, [s = signals] { s->cancel(); });
  }
};

TEST(ShutdownSignals, SigtermStopsTheListenerAndRunReturns) {
  asio::io_context io;
  auto listener = open_listener(io, &echo_frames);
  int received = 0;
  ShutdownSignals graceful(io, StopOnSignal{listener, &graceful, &received});
  asio::steady_timer later(io, 50ms);
  later.async_wait([](const boost::system::error_code&) { std::raise(SIGTERM); });
  // run() returns by itself once the listener has stopped and signals are no longer watched.
  const auto started = Clock::now();
  io.run_for(5s);
  EXPECT_EQ(received, SIGTERM);
  EXPECT_LT(Clock::now() - started, 4s) << "io_context::run did not return after the graceful stop";
  EXPECT_EQ(listener->active_connections(), 0u);
  auto late = run_task(io, connect_tcp(endpoint_of(*listener), ConnectOptions{.timeout = 1s, .stream = {}}));
  EXPECT_FALSE(late.ok());
}

TEST(ShutdownSignals, ASecondSignalStopsTheIoContextAtOnce) {
  asio::io_context io;
  int calls = 0;
  ShutdownSignals signals(io, [&calls](int) { ++calls; });
  asio::steady_timer first(io, 20ms);
  first.async_wait([](const boost::system::error_code&) { std::raise(SIGINT); });
  asio::steady_timer second(io, 100ms);
  second.async_wait([](const boost::system::error_code&) { std::raise(SIGINT); });
  asio::steady_timer never(io, 30s);  // keeps run() busy unless stop() is called
  never.async_wait([](const boost::system::error_code&) {});
  const auto started = Clock::now();
  io.run();
  EXPECT_LT(Clock::now() - started, 5s);
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(io.stopped());
}

}  // namespace
}  // namespace cardperso::net
