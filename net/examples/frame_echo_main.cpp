// cardperso-echo: the Asio baseline for the load generator. A server echoes frames; a client makes
// N round trips with payloads of a given size and prints round trips per second. `selftest` runs
// both over loopback in one process.
//
//   cardperso-echo server --listen 127.0.0.1:7100 [--max-connections 64]
//   cardperso-echo client --connect 127.0.0.1:7100 [--size 256] [--count 10000]
//   cardperso-echo selftest [--size 256] [--count 10000]
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "cardperso/cli/command_line.hpp"
#include "cardperso/cli/subcommands.hpp"
#include "cardperso/common/logging.hpp"
#include "cardperso/net/shutdown_signals.hpp"
#include "cardperso/net/tcp_connector.hpp"
#include "cardperso/net/tcp_listener.hpp"

namespace {

using namespace cardperso;
using namespace cardperso::net;
using namespace std::chrono_literals;
namespace po = boost::program_options;

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

int print_report(const Report& r, std::size_t size) {
  if (!r.ok) {
    std::fprintf(stderr, "cardperso-echo: failed after %zu round trips: %s\n", r.round_trips, r.error.c_str());
    return cli::kExitFailed;
  }
  std::printf("%zu round trips of %zu-byte payloads in %.3f s: %.0f round trips/s\n", r.round_trips, size, r.seconds,
              static_cast<double>(r.round_trips) / r.seconds);
  return 0;
}

// Options every mode shares.
struct Sizes {
  std::size_t size = 256;
  std::size_t count = 10000;
};

void add_sizes(cli::CommandLine& cl, Sizes& sizes) {
  cl.options().add_options()
      ("size", po::value(&sizes.size)->default_value(sizes.size), "payload bytes per frame (at most 64 KiB)")
      ("count", po::value(&sizes.count)->default_value(sizes.count), "round trips to make");
}

std::optional<int> check_sizes(const cli::CommandLine& cl, const Sizes& sizes) {
  if (sizes.size > proto::kMaxPayload) return cl.usage_error("--size is above the 64 KiB frame limit");
  return std::nullopt;
}

int server(const std::vector<std::string>& args, const std::string& name) {
  cli::CommandLine cl({.name = name, .usage = "--listen HOST:PORT [--max-connections N]",
                       .description = "Echoes every frame back until SIGTERM/SIGINT."});
  std::string listen;
  std::size_t max_connections = 64;
  cl.options().add_options()
      ("listen", po::value(&listen)->required(), "HOST:PORT to accept on; port 0 picks a free port")
      ("max-connections", po::value(&max_connections)->default_value(max_connections), "connections at once");
  po::variables_map vm;
  if (auto stop = cl.parse(args, vm)) return *stop;
  auto at = parse_endpoint(listen);
  if (!at) return cl.usage_error("--listen: " + at.error().message);
  init_logging("cardperso-echo", "info");
  asio::io_context io;
  auto listener =
      TcpListener::open(io, *at, ListenerOptions{.max_connections = max_connections, .stream = {}}, &echo_frames);
  if (!listener.ok()) return cl.failed(listener.error().message);
  (*listener)->start();
  ShutdownSignals signals(io, [&](int) { (*listener)->stop(2s, [&] { signals.cancel(); }); });
  io.run();
  return cli::kExitOk;
}

int client(const std::vector<std::string>& args, const std::string& name) {
  cli::CommandLine cl({.name = name, .usage = "--connect HOST:PORT [--size BYTES] [--count N]",
                       .description = "Makes COUNT sequential round trips to an echo server and prints the rate."});
  std::string connect;
  Sizes sizes;
  cl.options().add_options()("connect", po::value(&connect)->required(), "HOST:PORT of the echo server");
  add_sizes(cl, sizes);
  po::variables_map vm;
  if (auto stop = cl.parse(args, vm)) return *stop;
  if (auto bad = check_sizes(cl, sizes)) return *bad;
  auto at = parse_endpoint(connect);
  if (!at) return cl.usage_error("--connect: " + at.error().message);
  init_logging("cardperso-echo", "warn");
  asio::io_context io;
  auto report = std::make_shared<Report>();
  asio::co_spawn(asio::make_strand(io), run_client(*at, sizes.size, sizes.count, report, nullptr), asio::detached);
  io.run();
  return print_report(*report, sizes.size);
}

int selftest(const std::vector<std::string>& args, const std::string& name) {
  cli::CommandLine cl({.name = name, .usage = "[--size BYTES] [--count N]",
                       .description = "Runs a server and a client in one process on 127.0.0.1."});
  Sizes sizes;
  add_sizes(cl, sizes);
  po::variables_map vm;
  if (auto stop = cl.parse(args, vm)) return *stop;
  if (auto bad = check_sizes(cl, sizes)) return *bad;
  init_logging("cardperso-echo", "warn");
  asio::io_context io;
  auto listener = TcpListener::open(io, Endpoint{"127.0.0.1", 0}, ListenerOptions{}, &echo_frames);
  if (!listener.ok()) return cl.failed(listener.error().message);
  (*listener)->start();
  const Endpoint at{"127.0.0.1", (*listener)->local_endpoint().port()};
  auto report = std::make_shared<Report>();
  asio::co_spawn(asio::make_strand(io), run_client(at, sizes.size, sizes.count, report, *listener), asio::detached);
  io.run();
  return print_report(*report, sizes.size);
}

}  // namespace

int main(int argc, char** argv) {
  const cli::SubcommandProgram program{
      .name = "cardperso-echo",
      .description = "The Asio baseline for the load generator: frames echoed over TCP, no protocol logic.",
      .footer = "Exit codes: 0 done, 1 usage error, 2 failed.",
      .commands = {{"server", "--listen HOST:PORT", "echo frames until stopped", server},
                   {"client", "--connect HOST:PORT", "round trips against a server", client},
                   {"selftest", "", "server and client in one process", selftest}}};
  return cli::run_subcommands(program, std::vector<std::string>(argv + 1, argv + argc));
}
