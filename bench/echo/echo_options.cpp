#include "echo_options.hpp"

#include <charconv>
#include "cardperso/cli/command_line.hpp"

#include "cardperso/proto/frame.hpp"

namespace cardperso::bench {
namespace po = boost::program_options;

Result<std::vector<Exchange>> profile_exchanges(std::string_view profile) {
  const std::vector<Exchange> handshake{{80, 70}, {70, 70}};
  const std::vector<Exchange> perso{{60, 3000}, {300, 100}};
  if (profile == "handshake") return handshake;
  if (profile == "perso-only") return perso;
  if (profile == "personalisation") {
    std::vector<Exchange> all = handshake;
    all.insert(all.end(), perso.begin(), perso.end());
    return all;
  }
  return fail("unknown profile '" + std::string(profile) + "'; use handshake, personalisation or perso-only");
}

namespace {

Result<std::size_t> parse_size(std::string_view text) {
  std::size_t value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || ptr != text.data() + text.size() || text.empty())
    return fail("'" + std::string(text) + "' is not a byte count");
  return value;
}

}  // namespace

Result<std::vector<Exchange>> parse_exchanges(std::string_view text) {
  std::vector<Exchange> out;
  constexpr std::size_t kMaxFrame = proto::kHeaderSize + proto::kMaxPayload;
  while (!text.empty()) {
    const std::size_t comma = std::min(text.find(','), text.size());
    const std::string_view item = text.substr(0, comma);
    text.remove_prefix(std::min(comma + 1, text.size()));
    const std::size_t colon = item.find(':');
    if (colon == std::string_view::npos) return fail("exchange '" + std::string(item) + "' is not REQUEST:RESPONSE");
    auto request = parse_size(item.substr(0, colon));
    if (!request) return request.error();
    auto response = parse_size(item.substr(colon + 1));
    if (!response) return response.error();
    if (*request < kMinRequestBytes || *request > kMaxFrame || *response < kMinResponseBytes || *response > kMaxFrame)
      return fail("exchange '" + std::string(item) + "': requests must be 20.." + std::to_string(kMaxFrame) +
                  " bytes and responses 16.." + std::to_string(kMaxFrame) + " (whole frames)");
    out.push_back({*request, *response});
    if (out.size() > 1000) return fail("more than 1000 exchanges per session");
  }
  if (out.empty()) return fail("--exchanges needs at least one REQUEST:RESPONSE");
  return out;
}

std::variant<EchoOptions, int> parse_echo_options(int argc, char** argv) {
  EchoOptions o;
  std::string exchanges, connect, listen;
  std::size_t timeout_ms = 10'000;
  std::string mode;
  cli::CommandLine cl({.name = "cardperso-echo-bench",
                       .usage = "[server] [options]",
                       .description = "Spawns an echo server, loads it with sessions of fixed frame sizes and reports;\n"
                                      "`cardperso-echo-bench server` is the echo server alone (prints its port)."});
  cl.options().add_options()(
      "profile", po::value(&o.profile)->default_value(o.profile),
      "handshake (2 round trips), personalisation (4: handshake + P1..P4) or perso-only (2)")(
      "exchanges", po::value(&exchanges), "custom session: REQUEST:RESPONSE frame sizes, e.g. 80:70,70:70")(
      "connections,c", po::value(&o.connections)->default_value(o.connections), "concurrent connections")(
      "sessions,n", po::value(&o.sessions)->default_value(o.sessions), "sessions in total")(
      "connect", po::value(&connect), "use a running echo server at HOST:PORT instead of spawning one")(
      "server-pid", po::value(&o.server_pid), "pid of that server, for its CPU time and peak RSS")(
      "timeout-ms", po::value(&timeout_ms)->default_value(timeout_ms), "deadline of every read")(
      "listen", po::value(&listen)->default_value("127.0.0.1:0"), "server: address to listen on")(
      "max-connections", po::value(&o.max_connections)->default_value(o.max_connections),
      "server: connections at once")(
      "mode", po::value(&mode), "server: run the echo server alone (also the first positional word)");
  cl.positional().add("mode", 1);
  po::variables_map vm;
  if (auto stop = cl.parse(argc, argv, vm)) return *stop;
  auto usage = [&cl](const std::string& message) { return cl.usage_error(message); };
  if (!mode.empty() && mode != "server") return usage("unknown mode '" + mode + "'; the only mode is 'server'");
  o.server_mode = mode == "server";
  auto parsed_listen = net::parse_endpoint(listen);
  if (!parsed_listen) return usage("--listen: " + parsed_listen.error().message);
  o.listen = *parsed_listen;
  if (o.server_mode) return o;

  auto ex = exchanges.empty() ? profile_exchanges(o.profile) : parse_exchanges(exchanges);
  if (!ex) return usage((exchanges.empty() ? "--profile: " : "--exchanges: ") + ex.error().message);
  o.exchanges = std::move(*ex);
  if (!exchanges.empty()) o.profile = "custom";
  if (o.connections == 0 || o.connections > 20'000) return usage("--connections must be 1..20000");
  if (o.sessions == 0) return usage("--sessions must be at least 1");
  if (timeout_ms == 0 || timeout_ms > 600'000) return usage("--timeout-ms must be 1..600000");
  o.timeout = std::chrono::milliseconds(timeout_ms);
  if (!connect.empty()) {
    auto to = net::parse_endpoint(connect);
    if (!to) return usage("--connect: " + to.error().message);
    o.connect = *to;
  } else if (o.server_pid != 0) {
    return usage("--server-pid goes with --connect");
  }
  return o;
}

}  // namespace cardperso::bench
