#include "loadgen_options.hpp"

#include "cardperso/cli/command_line.hpp"

namespace cardperso::bench {
namespace po = boost::program_options;

std::string_view to_string(LoadMode mode) {
  switch (mode) {
    case LoadMode::Handshake: return "handshake";
    case LoadMode::Personalise: return "personalise";
    case LoadMode::Idle: return "idle";
  }
  return "?";
}

std::variant<LoadOptions, int> parse_load_options(int argc, char** argv) {
  LoadOptions o;
  o.ads_server = CARDPERSO_LOADGEN_ADS_SERVER;
  o.adsctl = CARDPERSO_LOADGEN_ADSCTL;
  o.echo_bench = CARDPERSO_LOADGEN_ECHO_BENCH;
  std::string mode = "handshake";
  long duration_ms = 10'000, warmup_ms = 1'000, hold_ms = 5'000, timeout_ms = 10'000;
  std::vector<std::string> ads_addresses;
  cli::CommandLine cl({.name = "cardperso-loadgen",
                       .usage = "[options]",
                       .description = "Sets up a fresh ADS database, starts ads-server, runs the echo baseline, then S simulated shops\n"
                                      "(DTD relay + STE cores + in-memory cards) on one thread against it. Last line: JSON summary."});
  cl.options().add_options()(
      "mode", po::value(&mode)->default_value(mode),
      "handshake (handshake + Terminate), personalise (handshake, cards, Terminate) or idle (connect and hold)")(
      "shops,s", po::value(&o.shops)->default_value(o.shops), "concurrent shops, one TCP link each")(
      "sessions,n", po::value(&o.sessions)->default_value(0), "sessions in total after the warm-up (0: use --duration)")(
      "rate", po::value(&o.rate)->default_value(0),
      "open loop: start this many sessions/s in total, evenly paced over the shops (0: every shop runs its "
      "sessions back to back, a closed loop)")(
      "duration-ms", po::value(&duration_ms)->default_value(duration_ms), "measured run length when --sessions is 0")(
      "cards-per-session", po::value(&o.cards_per_session)->default_value(o.cards_per_session),
      "personalise: customer cards per session")(
      "warmup-ms", po::value(&warmup_ms)->default_value(warmup_ms), "load before measuring (not counted)")(
      "hold-ms", po::value(&hold_ms)->default_value(hold_ms), "idle: how long the connected shops are held")(
      "timeout-ms", po::value(&timeout_ms)->default_value(timeout_ms), "deadline of every reply")(
      "retailers", po::value(&o.retailers)->default_value(0), "retailer cards enrolled (0: one per shop)")(
      "no-baseline", "skip the echo baseline")(
      "work-dir", po::value(&o.work_dir), "where the database and card images go (default: fresh, removed)")(
      "keep-work-dir", "keep the work directory afterwards")(
      "db", po::value(&o.db),
      "the ADS database the fixture is made in: default WORK_DIR/ads.db (SQLite); or a postgresql:// URL of an "
      "existing, empty database")(
      "server-log-level", po::value(&o.server_log_level)->default_value(o.server_log_level), "ads-server --log-level")(
      "max-sessions-per-link", po::value(&o.max_sessions_per_link)->default_value(0), "ads-server option, if set")(
      "server-arg", po::value(&o.server_args)->composing(),
      "one more ads-server argument, e.g. --server-arg=--profile=gsm-sim-default (repeatable)")(
      "ads-server", po::value(&o.ads_server)->default_value(o.ads_server), "ads-server program")(
      "adsctl", po::value(&o.adsctl)->default_value(o.adsctl), "adsctl program")(
      "echo-bench", po::value(&o.echo_bench)->default_value(o.echo_bench), "cardperso-echo-bench program")(
      "setup-only", "make the database and cards in --work-dir (adsctl), write DIR/loadgen-fixture.json, print "
      "how to start ads-server on it, and exit: for a later run with --ads-address")(
      "ads-address", po::value(&ads_addresses)->composing(),
      "HOST:PORT of an ads-server already running on the --work-dir fixture's database (made by --setup-only "
      "with the same --mode, --shops and --sessions); repeatable or comma-separated. No server is started; "
      "shop i prefers address i % n and fails over to the next ones when its link drops or a connect fails");
  po::variables_map vm;
  if (auto stop = cl.parse(argc, argv, vm)) return *stop;
  auto usage = [&cl](const std::string& message) { return cl.usage_error(message); };
  if (mode == "handshake") o.mode = LoadMode::Handshake;
  else if (mode == "personalise" || mode == "personalize") o.mode = LoadMode::Personalise;
  else if (mode == "idle") o.mode = LoadMode::Idle;
  else return usage("--mode must be handshake, personalise or idle");
  if (o.shops == 0 || o.shops > 50'000) return usage("--shops must be 1..50000");
  if (o.cards_per_session == 0 || o.cards_per_session > 1000) return usage("--cards-per-session must be 1..1000");
  if (o.mode == LoadMode::Personalise && o.sessions == 0)
    return usage("personalise mode needs --sessions (the stock of blank cards is imported up front)");
  if (duration_ms <= 0 || duration_ms > 3'600'000) return usage("--duration-ms must be 1..3600000");
  if (warmup_ms < 0 || warmup_ms > 600'000) return usage("--warmup-ms must be 0..600000");
  if (hold_ms < 0 || hold_ms > 3'600'000) return usage("--hold-ms must be 0..3600000");
  if (timeout_ms <= 0 || timeout_ms > 600'000) return usage("--timeout-ms must be 1..600000");
  if (o.rate < 0 || o.rate > 1e6) return usage("--rate must be 0..1000000 sessions/s");
  if (o.retailers > o.shops) return usage("--retailers cannot exceed --shops");
  o.duration = std::chrono::milliseconds(duration_ms);
  o.warmup = std::chrono::milliseconds(warmup_ms);
  o.hold = std::chrono::milliseconds(hold_ms);
  o.timeout = std::chrono::milliseconds(timeout_ms);
  o.baseline = vm.count("no-baseline") == 0 && o.mode != LoadMode::Idle;
  o.keep_work_dir = vm.count("keep-work-dir") != 0;
  o.setup_only = vm.count("setup-only") != 0;
  for (const auto& value : ads_addresses) {
    std::string_view rest = value;
    for (;;) {
      const auto comma = rest.find(',');
      std::string entry(rest.substr(0, comma));
      entry.erase(0, entry.find_first_not_of(" \t"));
      entry.erase(entry.find_last_not_of(" \t") + 1);
      auto endpoint = net::parse_endpoint(entry);
      if (!endpoint) return usage("--ads-address: " + endpoint.error().message);
      if (endpoint->port == 0) return usage("--ads-address needs a port other than 0");
      o.ads_addresses.push_back(std::move(*endpoint));
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  if (o.setup_only && !o.ads_addresses.empty()) return usage("give --setup-only or --ads-address, not both");
  if ((o.setup_only || !o.ads_addresses.empty()) && o.work_dir.empty())
    return usage("--setup-only and --ads-address need --work-dir (the fixture's directory)");
  return o;
}

}  // namespace cardperso::bench
