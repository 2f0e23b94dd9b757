// cardperso-loadgen: many simulated shops against a real ads-server over loopback, next to the echo
// baseline measured in the same invocation (docs/performance.md §Load generator). Progress goes to
// stderr once a second; the last line on stdout is a JSON summary ({"bench":"loadgen",...}).
//
//   cardperso-loadgen --mode handshake --shops 100 --duration-ms 10000
//   cardperso-loadgen --mode personalise --shops 100 --sessions 5000 --cards-per-session 1
//   cardperso-loadgen --mode idle --shops 10000 --hold-ms 10000
//   cardperso-loadgen --setup-only --work-dir DIR --shops 10 ...; start ads-servers on DIR/ads.db; then
//   cardperso-loadgen --work-dir DIR --shops 10 ... --ads-address HOST:PORT --ads-address HOST:PORT
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "cardperso/cardsim/card_image.hpp"
#include "cardperso/testing/listening_child.hpp"
#include "disk_baseline.hpp"
#include "echo_baseline.hpp"
#include "fixture.hpp"
#include "fixture_manifest.hpp"
#include "load_run.hpp"
#include "loadgen_options.hpp"

namespace {

using namespace cardperso;
using namespace cardperso::bench;

// Every shop is a socket here and in the ads-server (which inherits this limit: it does not raise
// its own). The soft limit is often 1024.
rlim_t raise_descriptor_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
  getrlimit(RLIMIT_NOFILE, &limit);
  return limit.rlim_cur;
}

// Interrupted (Ctrl-C, timeout): take the ads-server down too, so it is not left running orphaned.
volatile sig_atomic_t g_server_pid = 0;

// Whether `program --help` mentions `flag` (an ads-server of this tree may or may not have it yet).
bool help_mentions(const std::string& program, const std::string& flag) {
  const std::string command = "'" + program + "' --help 2>/dev/null";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return false;
  std::string text;
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) text.append(buffer, n);
  ::pclose(pipe);
  return text.find(flag) != std::string::npos;
}

void on_interrupt(int signal_number) {
  if (g_server_pid > 0) kill(static_cast<pid_t>(g_server_pid), SIGTERM);
  ::signal(signal_number, SIG_DFL);
  ::raise(signal_number);
}

void stop_server_on_interrupt(pid_t pid) {
  g_server_pid = pid;
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

double rounded(double value, int digits) {
  const double scale = std::pow(10.0, digits);
  return std::round(value * scale) / scale;
}

double per_second(std::size_t n, double seconds) { return seconds > 0 ? static_cast<double>(n) / seconds : 0.0; }

nlohmann::json process_json(const std::optional<ProcessStats>& before, const std::optional<ProcessStats>& after,
                            double seconds, std::size_t sessions) {
  nlohmann::json j = nlohmann::json::object();
  if (!before || !after) return j;
  const CpuTimes used = cpu_between(before->cpu, after->cpu);
  j.update(to_json(used));
  j["cpu_share"] = seconds > 0 ? rounded(used.total_seconds() / seconds, 3) : 0.0;
  j["cpu_us_per_session"] =
      sessions > 0 ? rounded(used.total_seconds() * 1e6 / static_cast<double>(sessions), 1) : 0.0;
  j["peak_rss_kib"] = after->memory.peak_rss_kib;
  j["rss_kib"] = after->memory.rss_kib;
  return j;
}

std::string make_work_dir(const LoadOptions& o) {
  if (!o.work_dir.empty()) {
    std::filesystem::create_directories(o.work_dir);
    return o.work_dir;
  }
  std::string pattern = "/tmp/cardperso-loadgen-XXXXXX";
  if (!mkdtemp(pattern.data())) throw std::runtime_error("cannot create a work directory under /tmp");
  return pattern;
}

struct WorkDir {
  std::string path;
  bool keep = false;
  ~WorkDir() {
    std::error_code ignored;
    if (!keep && !path.empty()) std::filesystem::remove_all(path, ignored);
  }
};

int run(const LoadOptions& o) {
  const rlim_t descriptors = raise_descriptor_limit();
  if (descriptors < o.shops + 64)
    fmt::print(stderr, "cardperso-loadgen: only {} file descriptors for {} shops; expect connect errors\n",
               descriptors, o.shops);
  WorkDir work{make_work_dir(o), o.keep_work_dir || !o.work_dir.empty()};

  // Fixture.
  FixturePlan fp;
  fp.adsctl = o.adsctl;
  fp.dir = work.path;
  fp.db = o.db;
  fp.shops = o.shops;
  fp.retailers = o.retailers > 0 ? o.retailers : o.mode == LoadMode::Idle ? 1 : o.shops;
  if (o.mode == LoadMode::Personalise) {
    const std::size_t share = (o.sessions * o.cards_per_session + o.shops - 1) / o.shops;
    fp.blank_cards_per_shop = 2 * share + 3 * o.cards_per_session;  // warm-up and calibration come out of the margin
  }
  fp.keep_batch_secret = o.setup_only;
  const bool external = !o.ads_addresses.empty();
  const std::string manifest = fixture_manifest_path(work.path);
  if (!external)
    fmt::print(stderr, "setting up {} (adsctl: {} retailer cards, {} blank SIMs per shop)...\n", work.path,
               fp.retailers, fp.blank_cards_per_shop);
  // Against running servers the database is theirs already: the fixture --setup-only wrote down.
  auto fixture = external ? read_fixture_manifest(manifest) : make_fixture(fp);
  if (!fixture) {
    fmt::print(stderr, "cardperso-loadgen: setting up the database failed: {}\n", fixture.error().message);
    return 2;
  }
  if (o.setup_only) {
    if (auto w = write_fixture_manifest(*fixture, manifest); !w) {
      fmt::print(stderr, "cardperso-loadgen: {}\n", w.error().message);
      return 2;
    }
    fmt::print("fixture ready: {}\nstart the servers on it, e.g. {} --db {} --master-key {} --listen 127.0.0.1:7700 "
               "--hello-rate 0 --max-connections-per-address 0 --max-handshakes-per-link-minute 0\nthen: "
               "cardperso-loadgen --work-dir {} (the same --mode, --shops, --sessions) --ads-address 127.0.0.1:7700\n",
               manifest, o.ads_server, fixture->db_path, fixture->key_path, work.path);
    return 0;
  }
  if (external && fixture->shops.size() != o.shops) {
    fmt::print(stderr, "cardperso-loadgen: the fixture in {} has {} shops; give --shops {}\n", work.path,
               fixture->shops.size(), fixture->shops.size());
    return 1;
  }

  LoadPlan plan;
  plan.mode = o.mode;
  plan.sessions = o.sessions;
  plan.duration = o.duration;
  plan.warmup = o.warmup;
  plan.hold = o.hold;
  plan.timeout = o.timeout;
  plan.cards_per_session = o.mode == LoadMode::Personalise ? o.cards_per_session : 0;
  plan.rate = o.rate;
  plan.batch_secret = fixture->batch_secret;
  std::map<std::string, cardsim::CardImage> images;
  for (const auto& s : fixture->shops) {
    auto it = images.find(s.retailer_image);
    if (it == images.end()) {
      auto image = cardsim::load_image(s.retailer_image);
      if (!image) {
        fmt::print(stderr, "cardperso-loadgen: {}\n", image.error().message);
        return 2;
      }
      it = images.emplace(s.retailer_image, std::move(*image)).first;
    }
    plan.shops.push_back(ShopSetup{it->second, s.retailer_pin, s.iccid_prefix, s.first_serial, s.blank_cards});
  }

  // The server.
  std::vector<std::string> server_argv{o.ads_server,  "--db",          fixture->db_path,
                                       "--master-key", fixture->key_path, "--listen",
                                       "127.0.0.1:0",  "--max-connections", std::to_string(o.shops + 64),
                                       "--log-level",  o.server_log_level};
  if (o.max_sessions_per_link > 0) {
    server_argv.push_back("--max-sessions-per-link");
    server_argv.push_back(std::to_string(o.max_sessions_per_link));
  }
  // Every shop connects from 127.0.0.1, and each link carries a shop's whole load: a per-address
  // hello rate limit, connection cap or back-off, or a per-link handshake rate, would refuse most of
  // them. Passed only when this ads-server has the flags.
  for (const char* flag : {"--hello-rate", "--max-connections-per-address", "--address-failures",
                           "--max-handshakes-per-link-minute"}) {
    if (help_mentions(o.ads_server, flag)) {
      server_argv.push_back(flag);
      server_argv.push_back("0");
    }
  }
  server_argv.insert(server_argv.end(), o.server_args.begin(), o.server_args.end());
  std::optional<cardperso::testing::ListeningChild> server;
  std::optional<ProcessStats> server_at_start;
  if (external) {
    // Somebody else's servers: no process of ours to measure (the summary's "server" stays empty).
    plan.ads = o.ads_addresses;
  } else {
    auto started = cardperso::testing::ListeningChild::start(server_argv, std::chrono::seconds(30));
    if (!started) {
      fmt::print(stderr, "cardperso-loadgen: {}\n", started.error().message);
      return 2;
    }
    server.emplace(std::move(*started));
    stop_server_on_interrupt(server->pid());
    plan.ads = {server->endpoint()};
    plan.server_pid = server->pid();
    if (auto stats = read_process_stats(server->pid())) server_at_start = *stats;
  }

  // Round trips of one session, and the exchanges the baseline replays.
  std::optional<Calibration> calibration;
  nlohmann::json baseline;
  int exit_code = 0;
  if (o.mode != LoadMode::Idle) {
    auto c = calibrate(plan);
    if (!c) {
      fmt::print(stderr, "cardperso-loadgen: {}\n", c.error().message);
      return 2;
    }
    calibration = std::move(*c);
    plan.shops[0].first_serial += o.mode == LoadMode::Personalise ? o.cards_per_session : 0;
    plan.shops[0].blank_cards -= o.mode == LoadMode::Personalise ? o.cards_per_session : 0;
    const auto expected = expected_round_trips(plan.cards_per_session);
    const auto& got = calibration->round_trips;
    fmt::print("round trips DTD<->ADS per session: handshake {}, C1/C2 {}, P1/K1+K2/P2+P3/P4 {}, terminate {} "
               "(expected {}, {}, {}, {}): {}\n",
               got.handshake, got.customer, got.card, got.terminate, expected.handshake, expected.customer,
               expected.card, expected.terminate,
               got.handshake == expected.handshake && got.customer == expected.customer && got.card == expected.card &&
                       got.terminate == expected.terminate && got.other == 0
                   ? "ok"
                   : "MISMATCH");
    if (got.handshake != 2 || got.customer != expected.customer || got.card != expected.card) exit_code = 1;
    std::size_t req = 0, resp = 0;
    for (const auto& e : calibration->exchanges) req += e.request, resp += e.response;
    fmt::print("frames per session: {} B to the ADS, {} B back, exchanges {}\n", req, resp,
               exchanges_argument(calibration->exchanges));
    if (o.baseline) {
      EchoBaselinePlan ep;
      ep.program = o.echo_bench;
      ep.exchanges = calibration->exchanges;
      ep.connections = o.shops;
      // Long enough to be measured even when the load itself is short.
      ep.sessions = std::max({o.sessions, o.shops * 10, std::size_t{20'000}});
      ep.timeout = o.timeout;
      fmt::print(stderr, "echo baseline: {} sessions of {} round trips on {} connections...\n", ep.sessions,
                 ep.exchanges.size(), ep.connections);
      auto b = run_echo_baseline(ep);
      if (!b) {
        fmt::print(stderr, "cardperso-loadgen: {}\n", b.error().message);
        exit_code = 1;
      } else {
        baseline = std::move(*b);
      }
    }
  }

  // The flush baseline, just before the load (the disk is shared with whatever else runs).
  std::optional<LatencySummary> flush;
  if (auto f = measure_flush_latency(work.path, 200)) {
    flush = *f;
  } else {
    fmt::print(stderr, "cardperso-loadgen: {}\n", f.error().message);
  }

  const auto r = run_load(plan);
  if (server) {
    auto stopped = server->stop();
    if (!stopped) {
      fmt::print(stderr, "cardperso-loadgen: {}\n", stopped.error().message);
      exit_code = 1;
    }
  }

  // Figures.
  const double secs = r.seconds;
  const double sessions_s = per_second(r.sessions_ok, secs);
  const double perso_s = per_second(r.cards_ok, secs);
  const std::size_t rts = r.round_trips.total();
  const double rts_s = per_second(rts, secs);
  std::size_t errors_total = 0;
  nlohmann::json errors = nlohmann::json::object();
  for (const auto& [kind, n] : r.errors) {
    errors[kind] = n;
    errors_total += n;
  }
  const auto session_lat = r.session.summary();
  const auto rt_lat = r.round_trip.summary();
  const auto hs_lat = r.handshake.summary();
  const auto card_lat = r.card.summary();
  const auto div = [](std::size_t a, std::size_t b) { return b > 0 ? rounded(static_cast<double>(a) / b, 3) : 0.0; };

  nlohmann::json summary{{"bench", "loadgen"},
                         {"mode", std::string(to_string(o.mode))},
                         {"shops", o.shops},
                         {"shops_connected", r.shops_connected},
                         {"connect_seconds", rounded(r.connect_seconds, 3)},
                         {"seconds", rounded(secs, 3)},
                         {"errors", errors},
                         {"errors_total", errors_total}};
  if (flush) summary["disk_flush_us"] = to_json(*flush);
  // Where the shops' links ended (by ADS address) and how often they failed over.
  nlohmann::json links_by_ads = nlohmann::json::object();
  for (const auto& l : r.shop_links)
    if (l.ads) links_by_ads[l.address] = links_by_ads.value(l.address, 0) + 1;
  summary["shops_by_ads"] = links_by_ads;
  summary["failovers"] = r.failovers;
  if (o.mode == LoadMode::Idle) {
    nlohmann::json idle = nlohmann::json::object();
    if (server_at_start && r.server_held) {
      const auto base = server_at_start->memory.rss_kib;
      const auto held = r.server_held->memory.rss_kib;
      idle["rss_at_start_kib"] = base;
      idle["rss_held_kib"] = held;
      idle["peak_rss_kib"] = r.server_held->memory.peak_rss_kib;
      idle["kib_per_connection"] =
          r.shops_connected > 0 ? rounded(static_cast<double>(held - std::min(held, base)) / r.shops_connected, 2) : 0.0;
    }
    summary["idle"] = idle;
    summary["server"] = process_json(r.before.server, r.after.server, secs, 0);
    summary["client"] = process_json(r.before.client, r.after.client, secs, 0);
  } else {
    summary["cards_per_session"] = plan.cards_per_session;
    summary["sessions_ok"] = r.sessions_ok;
    summary["sessions_failed"] = r.sessions_failed;
    summary["personalisations"] = r.cards_ok;
    summary["sessions_per_s"] = rounded(sessions_s, 1);
    summary["personalisations_per_s"] = rounded(perso_s, 1);
    summary["round_trips_per_s"] = rounded(rts_s, 1);
    if (o.rate > 0) {
      summary["offered_rate"] = o.rate;
      summary["late_starts"] = r.late_starts;
      summary["worst_late_us"] = r.worst_late.count();
    }
    summary["latency_us"] = {{"session", to_json(session_lat)},
                             {"round_trip", to_json(rt_lat)},
                             {"handshake", to_json(hs_lat)},
                             {"card", to_json(card_lat)}};
    const auto expected = expected_round_trips(plan.cards_per_session);
    nlohmann::json exchanges = nlohmann::json::array();
    for (const auto& e : calibration->exchanges) exchanges.push_back({e.request, e.response});
    summary["round_trips"] = {
        {"per_session",
         {{"handshake", div(r.round_trips.handshake, r.sessions_ok)},
          {"customer", div(r.round_trips.customer, r.sessions_ok)},
          {"card", div(r.round_trips.card, r.sessions_ok)},
          {"terminate", div(r.round_trips.terminate, r.sessions_ok)},
          {"total", div(rts, r.sessions_ok)}}},
        {"expected",
         {{"handshake", expected.handshake},
          {"customer", expected.customer},
          {"card", expected.card},
          {"terminate", expected.terminate}}},
        {"mismatched_sessions", r.round_trip_mismatches},
        {"exchanges", exchanges}};
    if (plan.cards_per_session > 0)
      summary["apdus_per_card"] = r.cards_ok > 0 ? rounded(static_cast<double>(r.customer_apdus) / r.cards_ok, 1) : 0.0;
    summary["server"] = process_json(r.before.server, r.after.server, secs, r.sessions_ok);
    summary["client"] = process_json(r.before.client, r.after.client, secs, r.sessions_ok);
    if (!baseline.is_null()) {
      const double echo_sessions_s = baseline.value("sessions_per_s", 0.0);
      const double echo_rt_p99 = baseline["latency_us"]["round_trip"].value("p99_us", 0.0);
      const double echo_rt_p50 = baseline["latency_us"]["round_trip"].value("p50_us", 0.0);
      summary["baseline"] = {{"sessions_per_s", echo_sessions_s},
                             {"round_trips_per_s", baseline.value("round_trips_per_s", 0.0)},
                             {"sessions_ok", baseline.value("sessions_ok", 0)},
                             {"errors", baseline.value("errors", 0)},
                             {"latency_us", baseline["latency_us"]},
                             {"server", baseline["server"]}};
      summary["ratio_to_baseline"] = {
          {"sessions_per_s", echo_sessions_s > 0 ? rounded(sessions_s / echo_sessions_s, 3) : 0.0},
          {"round_trip_p50", echo_rt_p50 > 0 ? rounded(static_cast<double>(rt_lat.p50_us) / echo_rt_p50, 2) : 0.0},
          {"round_trip_p99", echo_rt_p99 > 0 ? rounded(static_cast<double>(rt_lat.p99_us) / echo_rt_p99, 2) : 0.0}};
    }
  }

  // Human-readable lines.
  fmt::print("loadgen {}: {} shops ({} connected in {:.2f} s)\n", to_string(o.mode), o.shops, r.shops_connected,
             r.connect_seconds);
  if (o.mode == LoadMode::Idle) {
    const auto& idle = summary["idle"];
    if (!idle.empty())
      fmt::print("  ads-server RSS: {} KiB at start, {} KiB with the shops held ({} KiB per connection), peak {} KiB\n",
                 idle["rss_at_start_kib"].get<std::uint64_t>(), idle["rss_held_kib"].get<std::uint64_t>(),
                 idle["kib_per_connection"].get<double>(), idle["peak_rss_kib"].get<std::uint64_t>());
    if (summary["server"].contains("cpu_s"))
      fmt::print("  ads-server CPU while holding them for {:.1f} s: {} s ({:.1f} % of one core)\n", secs,
                 summary["server"]["cpu_s"].get<double>(), 100 * summary["server"]["cpu_share"].get<double>());
  } else {
    fmt::print("  {} sessions ({} failed) in {:.3f} s: {:.1f} sessions/s, {:.1f} personalisations/s, {:.0f} round "
               "trips/s\n",
               r.sessions_ok, r.sessions_failed, secs, sessions_s, perso_s, rts_s);
    if (o.rate > 0)
      fmt::print("  open loop at {:.0f} sessions/s offered: {} sessions started late (worst {:.1f} ms); session "
                 "latency runs from the planned start\n",
                 o.rate, r.late_starts, static_cast<double>(r.worst_late.count()) / 1000.0);
    fmt::print("  session:    {}\n", describe(session_lat));
    fmt::print("  handshake:  {}\n", describe(hs_lat));
    if (plan.cards_per_session > 0) fmt::print("  card:       {}\n", describe(card_lat));
    fmt::print("  round trip: {}\n", describe(rt_lat));
    if (summary["server"].contains("cpu_s"))
      fmt::print("  ads-server: cpu {:.2f} s (user {:.2f}, sys {:.2f}) = {:.0f} us/session, peak RSS {} KiB\n",
                 summary["server"]["cpu_s"].get<double>(), summary["server"]["cpu_user_s"].get<double>(),
                 summary["server"]["cpu_sys_s"].get<double>(), summary["server"]["cpu_us_per_session"].get<double>(),
                 summary["server"]["peak_rss_kib"].get<std::uint64_t>());
    if (summary.contains("baseline"))
      fmt::print("  echo baseline: {:.1f} sessions/s, round trip p50 {} us p99 {} us; ratio {:.3f}\n",
                 summary["baseline"]["sessions_per_s"].get<double>(),
                 baseline["latency_us"]["round_trip"].value("p50_us", 0), baseline["latency_us"]["round_trip"].value("p99_us", 0),
                 summary["ratio_to_baseline"]["sessions_per_s"].get<double>());
    if (r.round_trip_mismatches > 0) {
      fmt::print("  ROUND TRIP COUNT MISMATCH in {} sessions\n", r.round_trip_mismatches);
      exit_code = 1;
    }
  }
  if (flush)
    fmt::print("  disk flush (4 KiB write + fdatasync in the database's directory): {}\n", describe(*flush));
  for (const auto& [kind, n] : r.errors) fmt::print("  errors {}: {}\n", kind, n);
  for (const auto& e : r.first_errors) fmt::print(stderr, "  error: {}\n", e);
  std::printf("%s\n", summary.dump().c_str());
  std::fflush(stdout);
  if (errors_total > 0) exit_code = 1;
  return exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    auto options = parse_load_options(argc, argv);
    if (auto* code = std::get_if<int>(&options)) return *code;
    // The terminal and relay libraries log each card at info; a load test wants only trouble.
    spdlog::set_level(spdlog::level::warn);
    return run(std::get<LoadOptions>(options));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cardperso-loadgen: %s\n", e.what());
    return 2;
  }
}
