// cardperso-echo-bench: the network-stack baseline of docs/performance.md. Two processes: this one
// drives the load, a child (this program in `server` mode) echoes; the child's CPU time and peak
// RSS come from /proc like the ads-server's in the load generator, and the client's work never
// counts as the server's. The last line of output is a JSON summary ({"bench":"echo",...}).
//
//   cardperso-echo-bench --profile handshake --connections 100 --sessions 20000
//   cardperso-echo-bench --exchanges 80:70,70:70 -c 1 -n 10000
//   cardperso-echo-bench server --listen 127.0.0.1:7300
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <cstdio>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "echo_client.hpp"
#include "echo_options.hpp"
#include "echo_server.hpp"
#include "process_stats.hpp"
#include "cardperso/testing/listening_child.hpp"

namespace {

using namespace cardperso;
using namespace cardperso::bench;

// 1000 connections need 1000+ descriptors on each side; the soft limit may be 1024.
void raise_descriptor_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

double rounded(double value, int digits) {
  const double scale = std::pow(10.0, digits);
  return std::round(value * scale) / scale;
}

nlohmann::json process_json(pid_t pid, const std::optional<ProcessStats>& before, const std::optional<ProcessStats>& after,
                            double seconds, std::size_t sessions) {
  nlohmann::json j{{"pid", pid}};
  if (!before || !after) return j;
  const CpuTimes used = cpu_between(before->cpu, after->cpu);
  j.update(to_json(used));
  j["cpu_share"] = seconds > 0 ? rounded(used.total_seconds() / seconds, 3) : 0.0;
  j["cpu_us_per_session"] = sessions > 0 ? rounded(used.total_seconds() * 1e6 / static_cast<double>(sessions), 1) : 0.0;
  j["peak_rss_kib"] = after->memory.peak_rss_kib;
  return j;
}

std::optional<ProcessStats> stats_of(pid_t pid) {
  if (pid <= 0) return std::nullopt;
  auto s = read_process_stats(pid);
  if (!s) {
    std::fprintf(stderr, "cardperso-echo-bench: %s\n", s.error().message.c_str());
    return std::nullopt;
  }
  return *s;
}

// The echo server is this same program in `server` mode, a child process, so its CPU time and peak
// RSS are read from /proc exactly as the load generator reads the ads-server's.
Result<cardperso::testing::ListeningChild> start_server(std::size_t max_connections) {
  char path[4096];
  const ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
  if (n <= 0) return fail(std::string("cannot find this program's path: ") + std::strerror(errno));
  const std::string exe(path, static_cast<std::size_t>(n));
  return cardperso::testing::ListeningChild::start(
      {exe, "server", "--listen", "127.0.0.1:0", "--max-connections", std::to_string(max_connections)},
      std::chrono::seconds(10), std::chrono::seconds(5), "the echo server");
}

int run_load(const EchoOptions& o) {
  std::optional<cardperso::testing::ListeningChild> child;
  net::Endpoint server;
  pid_t server_pid = o.server_pid;
  if (o.connect) {
    server = *o.connect;
  } else {
    auto started = start_server(o.connections + 16);
    if (!started) {
      std::fprintf(stderr, "cardperso-echo-bench: %s\n", started.error().message.c_str());
      return 1;
    }
    child.emplace(std::move(*started));
    server = child->endpoint();
    server_pid = child->pid();
  }

  const auto server_before = stats_of(server_pid);
  const auto client_before = stats_of(getpid());
  EchoReport r = run_echo_client(EchoPlan{server, o.exchanges, o.connections, o.sessions, o.timeout});
  const auto server_after = stats_of(server_pid);
  const auto client_after = stats_of(getpid());
  if (child) {
    if (auto stopped = child->stop(); !stopped) {
      std::fprintf(stderr, "cardperso-echo-bench: %s\n", stopped.error().message.c_str());
      ++r.errors;
    }
  }

  std::size_t request_bytes = 0, response_bytes = 0;
  nlohmann::json exchanges = nlohmann::json::array();
  for (const auto& ex : o.exchanges) {
    request_bytes += ex.request_bytes;
    response_bytes += ex.response_bytes;
    exchanges.push_back({ex.request_bytes, ex.response_bytes});
  }
  const double seconds = r.run_seconds;
  const double sessions_per_s = seconds > 0 ? static_cast<double>(r.sessions_ok) / seconds : 0;
  const double round_trips_per_s = seconds > 0 ? static_cast<double>(r.round_trips) / seconds : 0;
  const auto rt = r.round_trip.summary();
  const auto session = r.session.summary();

  fmt::print("echo baseline: profile {} ({} round trips, {} B out / {} B back per session), {} connections\n",
             o.profile, o.exchanges.size(), request_bytes, response_bytes, o.connections);
  fmt::print("  {} of {} sessions in {:.3f} s (connect {:.3f} s): {:.0f} sessions/s, {:.0f} round trips/s, {} errors\n",
             r.sessions_ok, o.sessions, seconds, r.connect_seconds, sessions_per_s, round_trips_per_s, r.errors);
  fmt::print("  round trip: {}\n", describe(rt));
  fmt::print("  session:    {}\n", describe(session));
  if (server_before && server_after) {
    const CpuTimes used = cpu_between(server_before->cpu, server_after->cpu);
    fmt::print("  server pid {}: cpu {:.2f} s (user {:.2f}, sys {:.2f}), peak RSS {} KiB\n", server_pid,
               used.total_seconds(), used.user_seconds, used.system_seconds, server_after->memory.peak_rss_kib);
  }
  for (const auto& e : r.first_errors) fmt::print(stderr, "  error: {}\n", e);

  nlohmann::json summary{
      {"bench", "echo"},
      {"profile", o.profile},
      {"exchanges", exchanges},
      {"bytes_per_session", {{"sent", request_bytes}, {"received", response_bytes}}},
      {"connections", o.connections},
      {"connections_open", r.connections_open},
      {"sessions", o.sessions},
      {"sessions_ok", r.sessions_ok},
      {"round_trips", r.round_trips},
      {"errors", r.errors},
      {"seconds", rounded(seconds, 4)},
      {"connect_seconds", rounded(r.connect_seconds, 4)},
      {"sessions_per_s", rounded(sessions_per_s, 1)},
      {"round_trips_per_s", rounded(round_trips_per_s, 1)},
      {"latency_us", {{"round_trip", to_json(rt)}, {"session", to_json(session)}}},
      {"server", process_json(server_pid, server_before, server_after, seconds, r.sessions_ok)},
      {"client", process_json(getpid(), client_before, client_after, seconds, r.sessions_ok)},
  };
  std::printf("%s\n", summary.dump().c_str());
  std::fflush(stdout);
  return r.errors == 0 && r.sessions_ok == o.sessions ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    auto options = parse_echo_options(argc, argv);
    if (auto* code = std::get_if<int>(&options)) return *code;
    raise_descriptor_limit();
    const EchoOptions& o = std::get<EchoOptions>(options);
    if (o.server_mode) return run_echo_server(o.listen, o.max_connections);
    return run_load(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cardperso-echo-bench: %s\n", e.what());
    return 2;
  }
}
