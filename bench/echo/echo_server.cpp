#include "echo_server.hpp"

#include <cstdio>

#include "cardperso/common/logging.hpp"
#include "cardperso/net/shutdown_signals.hpp"
#include "cardperso/net/tcp_listener.hpp"

namespace cardperso::bench {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;

// A connection may sit idle while the client opens its other connections: a generous deadline.
constexpr auto kIdleTimeout = 120s;

asio::awaitable<void> answer_frames(net::FramedStream stream) {
  for (;;) {
    auto request = co_await stream.read_frame(kIdleTimeout);
    if (!request.ok()) co_return;
    if (request->payload.size() < 4) co_return;  // not a benchmark request: drop the connection
    const std::size_t answer = get_u32(request->payload, 0);
    if (answer < proto::kHeaderSize || answer > proto::kHeaderSize + proto::kMaxPayload) co_return;
    const Bytes payload(answer - proto::kHeaderSize, 0x5a);
    if (auto sent = co_await stream.write_frame(request->header, payload); !sent.ok()) co_return;
  }
}

}  // namespace

int run_echo_server(const net::Endpoint& listen, std::size_t max_connections) {
  // Warnings only, on stderr: a log line per connection would be measured as network cost, and
  // stdout carries the port line the parent waits for.
  init_logging("cardperso-echo-bench", "warn");
  asio::io_context io;
  auto listener = net::TcpListener::open(io, listen,
                                         net::ListenerOptions{.max_connections = max_connections, .stream = {}},
                                         &answer_frames);
  if (!listener.ok()) {
    std::fprintf(stderr, "cardperso-echo-bench server: %s\n", listener.error().message.c_str());
    return 1;
  }
  (*listener)->start();
  const auto local = (*listener)->local_endpoint();
  std::printf("listening on %s:%u\n", local.address().to_string().c_str(), static_cast<unsigned>(local.port()));
  std::fflush(stdout);
  net::ShutdownSignals signals(io, [&](int) { (*listener)->stop(1s, [&] { signals.cancel(); }); });
  io.run();
  return 0;
}

}  // namespace cardperso::bench
