// cardperso-echo: the Asio baseline for the load generator. A server echoes frames; a client makes
// N round trips with payloads of a given size and prints round trips per second. `selftest` runs
// both over loopback in one process.
//
//   cardperso-echo server --listen 127.0.0.1:7100 [--max-connections 64]
//   cardperso-echo client --connect 127.0.0.1:7100 [--size 256] [--count 10000]
//   cardperso-echo selftest [--size 256] [--count 10000]
#include <chrono>
#include <cstdio>
#include <map>
#include <string>

#include "cardperso/common/logging.hpp"
#include "cardperso/net/shutdown_signals.hpp"
#include "cardperso/net/tcp_connector.hpp"
#include "cardperso/net/tcp_listener.hpp"

namespace {

using namespace cardperso;
using namespace cardperso::net;
using namespace std::chrono_literals;

asio::awaitable<void> echo_frames(FramedStream stream) {
  for (;;) {
    auto frame = co_await stream.read_frame(60s);
    if (!frame.ok()) co_return;
    if (auto sent = co_await stream.write_frame(frame->header, frame->payload); !sent.ok()) co_return;
  }
}

struct Report {
  bool ok = false;
  std::string error;
  std::size_t round_trips = 0;
  double seconds = 0;
};

asio::awaitable<void> run_client(Endpoint to, std::size_t size, std::size_t count, std::shared_ptr<Report> report,
                                 std::shared_ptr<TcpListener> stop_when_done) {
  auto connected = co_await connect_tcp(to);
  if (!connected.ok()) {
    report->error = connected.error().message;
  } else {
    FramedStream stream = *connected;
    Bytes payload(size);
    for (std::size_t i = 0; i < size; ++i) payload[i] = static_cast<std::uint8_t>(i);
    proto::FrameHeader header;
    header.channel = proto::Channel::LinkControl;
    const auto started = std::chrono::steady_clock::now();
    std::size_t done = 0;
    for (; done < count; ++done) {
      if (auto sent = co_await stream.write_frame(header, payload); !sent.ok()) {
        report->error = sent.error().message;
        break;
      }
      auto back = co_await stream.read_frame(10s);
      if (!back.ok() || back->payload != payload) {
        report->error = back.ok() ? "echo differs from what was sent" : back.error().message;
        break;
      }
    }
    report->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    report->round_trips = done;
    report->ok = done == count;
    stream.close();
  }
  if (stop_when_done) stop_when_done->stop(1s);
}

std::map<std::string, std::string> parse_flags(int argc, char** argv, int first) {
  std::map<std::string, std::string> flags;
  for (int i = first; i + 1 < argc; i += 2) flags[argv[i]] = argv[i + 1];
  if ((argc - first) % 2 != 0) throw std::invalid_argument(std::string("missing value after ") + argv[argc - 1]);
  return flags;
}

std::size_t number(const std::map<std::string, std::string>& flags, const std::string& name, std::size_t fallback) {
  const auto it = flags.find(name);
  return it == flags.end() ? fallback : static_cast<std::size_t>(std::stoull(it->second));
}

Endpoint endpoint(const std::map<std::string, std::string>& flags, const std::string& name) {
  const auto it = flags.find(name);
  if (it == flags.end()) throw std::invalid_argument(name + " is required");
  auto parsed = parse_endpoint(it->second);
  if (!parsed.ok()) throw std::invalid_argument(parsed.error().message);
  return *parsed;
}

int print_report(const Report& r, std::size_t size) {
  if (!r.ok) {
    std::fprintf(stderr, "cardperso-echo: failed after %zu round trips: %s\n", r.round_trips, r.error.c_str());
    return 1;
  }
  std::printf("%zu round trips of %zu-byte payloads in %.3f s: %.0f round trips/s\n", r.round_trips, size, r.seconds,
              static_cast<double>(r.round_trips) / r.seconds);
  return 0;
}

int usage() {
  std::fprintf(stderr,
               "usage: cardperso-echo server --listen HOST:PORT [--max-connections N]\n"
               "       cardperso-echo client --connect HOST:PORT [--size BYTES] [--count N]\n"
               "       cardperso-echo selftest [--size BYTES] [--count N]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  try {
    const std::string mode = argv[1];
    const auto flags = parse_flags(argc, argv, 2);
    const std::size_t size = number(flags, "--size", 256);
    const std::size_t count = number(flags, "--count", 10000);
    if (size > proto::kMaxPayload) throw std::invalid_argument("--size is above the 64 KiB frame limit");
    init_logging("cardperso-echo", mode == "server" ? "info" : "warn");
    asio::io_context io;
    if (mode == "server") {
      auto listener = TcpListener::open(io, endpoint(flags, "--listen"),
                                        ListenerOptions{.max_connections = number(flags, "--max-connections", 64),
                                                        .stream = {}},
                                        &echo_frames);
      if (!listener.ok()) throw std::runtime_error(listener.error().message);
      (*listener)->start();
      ShutdownSignals signals(io, [&](int) { (*listener)->stop(2s, [&] { signals.cancel(); }); });
      io.run();
      return 0;
    }
    auto report = std::make_shared<Report>();
    if (mode == "client") {
      asio::co_spawn(asio::make_strand(io), run_client(endpoint(flags, "--connect"), size, count, report, nullptr),
                     asio::detached);
      io.run();
      return print_report(*report, size);
    }
    if (mode == "selftest") {
      auto listener = TcpListener::open(io, Endpoint{"127.0.0.1", 0}, ListenerOptions{}, &echo_frames);
      if (!listener.ok()) throw std::runtime_error(listener.error().message);
      (*listener)->start();
      const Endpoint at{"127.0.0.1", (*listener)->local_endpoint().port()};
      asio::co_spawn(asio::make_strand(io), run_client(at, size, count, report, *listener), asio::detached);
      io.run();
      return print_report(*report, size);
    }
    return usage();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cardperso-echo: %s\n", e.what());
    return 2;
  }
}
