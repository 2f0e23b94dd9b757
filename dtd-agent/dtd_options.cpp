#include "dtd_options.hpp"

#include <unistd.h>

#include <algorithm>

#include "cardperso/cli/command_line.hpp"
#include "cardperso/dtd/ads_addresses.hpp"
#include "cardperso/metrics/listen_address.hpp"

namespace cardperso::dtd {

namespace po = boost::program_options;

namespace {

constexpr const char* kDefaultSteListen = "127.0.0.1:7701";

std::string default_dtd_id() {
  char host[65] = {};
  if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') return "dtd";
  return std::string("dtd@") + host;
}

bool printable(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c <= 0x7e; });
}

}  // namespace

std::variant<DtdOptions, int> parse_dtd_options(int argc, char** argv) {
  DtdOptions o;
  std::vector<std::string> ads;
  std::string ste_listen, ste_tty, dtd_id = default_dtd_id(), echo, metrics_listen, console_listen, policy;
  long long reconnect_max_ms = 5000;
  long long failback_s = 30;
  cli::CommandLine cl(
      {.name = "dtd-agent",
       .usage = "--ads HOST:PORT[,HOST:PORT...] (--ste-listen HOST:PORT | --ste-tty PATH) --pairing-file PATH [options]\n"
                "       dtd-agent --pair (CODE | -) --pairing-file PATH",
       .description = "The retailer PC's relay: keeps a link to the issuer's server (ADS), serves one secure terminal (STE)\n"
                      "on TCP (default 127.0.0.1:7701) or a tty, and relays their session unchanged. With --ste-listen\n"
                      "it prints `ste link on HOST:PORT` once it accepts.",
       .exit_codes = "0 stopped by SIGTERM/SIGINT (or done, with --exit-after-last), 1 usage error, 2 cannot start"});
  cl.options().add_options()
      ("ads", po::value(&ads)->composing(),
       "HOST:PORT of the ADS; required. Several addresses (the option repeated, or a comma-separated list) are "
       "tried in that order of preference: an address that does not answer is passed over for the next one at "
       "once (a whole round failed: back off), and a lost link starts again from the first. All must be servers "
       "of the same issuer, sharing its database")
      ("ads-failback-s", po::value(&failback_s)->default_value(30),
       "with several --ads addresses: while the link is on a less preferred one and no retailer session is open, "
       "try the more preferred ones every this many seconds and move the link to the first that answers "
       "(a session in progress is never moved); 0: never")
      ("pairing-file", po::value(&o.pairing_file), "the key this agent shares with its terminal (mode 0600); required")
      ("pair", po::value<std::string>(), "store the pairing code the terminal shows (ste-firmware --pair) in "
       "--pairing-file, which must not exist, and exit; '-' reads the code from standard input (it then stays out "
       "of the process list)")
      ("ste-listen", po::value(&ste_listen), "HOST:PORT to accept the STE on; port 0 picks a free port")
      ("ste-tty", po::value(&ste_tty), "tty device of the STE link (serial line or socat pty)")
      ("dtd-id", po::value(&dtd_id)->default_value(dtd_id), "this agent's name in the LinkHello (1-64 printable characters)")
      ("echo-test", po::value(&echo), "once the DTD holds SK_D, send this text in a sealed Echo on channel 2 and check the answer")
      ("customer", po::value<std::vector<std::string>>()->composing(),
       "JSON file of a customer's details (name, date_of_birth, address, id_document, id_number, email); "
       "repeat for several cards in one session. Without --customer/--modify, a terminal on stdin is asked")
      ("modify", po::value<std::vector<std::string>>()->composing(),
       "JSON file of a modification request {\"iccid\": ..., \"changes\": {\"spn\": ..., \"plmnsel\": [...]}}; repeatable")
      ("receipt-dir", po::value(&o.receipt_dir), "also write each card's receipt to DIR/receipt-<iccid>.txt")
      ("exit-after-last", po::bool_switch(&o.exit_after_last),
       "after the last request: end the session (Terminate) and exit 0 (unattended runs)")
      ("reconnect-max-ms", po::value(&reconnect_max_ms)->default_value(5000), "longest wait between ADS connection attempts")
      ("metrics-listen", po::value(&metrics_listen),
       "[HOST:]PORT to serve Prometheus metrics on (GET /metrics); a bare port binds 127.0.0.1, port 0 picks a free "
       "port (logged as `metrics on http://HOST:PORT/metrics`). The page names no customer or card but tells how "
       "busy the shop is: keep it on loopback or a management network. Default: no metrics")
      ("console-listen", po::value(&console_listen),
       "[HOST:]PORT to serve the retailer's web console on; a bare port binds 127.0.0.1, port 0 picks a free port. "
       "It prints `console on http://HOST:PORT/?token=TOKEN` on standard output: open that address (the token is "
       "fresh at every start and only that browser gets in). With the console the session stays open when the "
       "queue is empty, until the retailer presses \"end session\"; --customer/--modify files are queued first. "
       "Default: no console")
      ("policy", po::value(&policy),
       "the ADS's policy JSON file (ads-server --policy format); the console's form checks its required_fields and "
       "min_age before anything is sent. Deny lists and external commands are applied by the ADS alone. Default: "
       "the ADS's default (name and date_of_birth required, age 18 or over)");
  cli::add_log_options(cl.options(), o.log);
  po::variables_map vm;
  if (auto stop = cl.parse(argc, argv, vm)) return *stop;
  auto usage_error = [&cl](const std::string& message) { return cl.usage_error(message); };
  // Requests go to the ADS in the order the retailer gave them, --customer and --modify mixed.
  for (const auto& opt : cl.given()) {
    if (opt.string_key != "customer" && opt.string_key != "modify") continue;
    for (const auto& file : opt.value) {
      auto r = opt.string_key == "customer" ? load_customer_file(file) : load_modification_file(file);
      if (!r) return usage_error("--" + opt.string_key + ": " + r.error().message);
      o.requests.push_back(std::move(*r));
    }
  }
  if (o.pairing_file.empty()) return usage_error("--pairing-file PATH is required (make one with --pair CODE)");
  if (vm.count("pair") != 0U) {
    o.pair_code = vm["pair"].as<std::string>();
    return o;
  }
  if (vm.count("ads") == 0U) return usage_error("the option '--ads' is required but missing");
  auto ads_addresses = parse_ads_addresses(ads);
  if (!ads_addresses) return usage_error(ads_addresses.error().message);
  o.relay.ads.ads = ads_addresses->front();
  o.relay.ads.more_ads.assign(ads_addresses->begin() + 1, ads_addresses->end());
  if (failback_s < 0 || failback_s > 86'400) return usage_error("--ads-failback-s must be 0 to 86400 seconds");
  o.relay.ads.failback_every = std::chrono::seconds(failback_s);
  if (vm.count("ste-listen") != 0U && vm.count("ste-tty") != 0U)
    return usage_error("give either --ste-listen or --ste-tty, not both");
  if (vm.count("ste-tty") != 0U) {
    if (ste_tty.empty()) return usage_error("--ste-tty needs a device path");
    o.ste_tty = ste_tty;
  } else {
    auto listen = net::parse_endpoint(vm.count("ste-listen") != 0U ? ste_listen : kDefaultSteListen);
    if (!listen) return usage_error("--ste-listen: " + listen.error().message);
    o.ste_listen = *listen;
  }
  if (dtd_id.empty() || dtd_id.size() > 64 || !printable(dtd_id))
    return usage_error("--dtd-id must be 1 to 64 printable ASCII characters");
  o.relay.ads.dtd_id = dtd_id;
  if (vm.count("echo-test") != 0U) {
    if (echo.empty() || echo.size() > 1024) return usage_error("--echo-test needs a text of 1 to 1024 bytes");
    o.relay.echo_text = echo;
  }
  if (o.exit_after_last && o.requests.empty())
    return usage_error("--exit-after-last needs at least one --customer or --modify file");
  if (reconnect_max_ms < 1) return usage_error("--reconnect-max-ms must be at least 1");
  o.relay.ads.reconnect_max = std::chrono::milliseconds(reconnect_max_ms);
  if (!metrics_listen.empty()) {
    auto endpoint = metrics::parse_listen_address(metrics_listen);
    if (!endpoint) return usage_error("--metrics-listen: " + endpoint.error().message);
    o.metrics_listen = *endpoint;
  }
  if (!console_listen.empty()) {
    auto endpoint = metrics::parse_listen_address(console_listen);
    if (!endpoint) return usage_error("--console-listen: " + endpoint.error().message);
    o.console_listen = *endpoint;
  }
  if (!policy.empty()) {
    auto loaded = ads::policy::load_policy_file(policy);
    if (!loaded) return usage_error("--policy: " + loaded.error().message);
    o.policy = std::move(*loaded);
  }
  return o;
}

}  // namespace cardperso::dtd
