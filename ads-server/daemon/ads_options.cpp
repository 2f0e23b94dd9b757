#include "ads_options.hpp"

#include "cardperso/cli/command_line.hpp"
#include "cardperso/cli/log_options.hpp"
#include "cardperso/metrics/listen_address.hpp"

namespace cardperso::ads {

namespace po = boost::program_options;

std::variant<AdsOptions, int> parse_ads_options(int argc, char** argv) {
  AdsOptions o;
  std::string listen;
  long long handshake_ms = 30'000, idle_ms = 900'000, lockout_window_s = 3600;
  long long lockout_backoff_s = o.lockout.backoff.count(), lockout_max_backoff_s = o.lockout.max_backoff.count();
  int lockout_failures = 5;
  int address_failures = o.address_penalties.max_failures;
  long long address_window_s = o.address_penalties.window.count(), address_backoff_s = o.address_penalties.backoff.count(),
            address_max_backoff_s = o.address_penalties.max_backoff.count();
  long long retention_days = 90;
  std::size_t handshakes_per_minute = o.connection.max_handshakes_per_minute;
  std::size_t max_sessions = o.connection.max_sessions;
  long long hello_timeout_ms = o.connection.hello_timeout.count(), link_timeout_ms = o.connection.link_timeout.count(),
            keepalive_ms = o.connection.keepalive_interval.count();
  double hello_rate = o.hello_rate.rate_per_second, hello_burst = o.hello_rate.burst;
  std::string hlr_ctrl, metrics_listen;
  const HlrLinkOptions hlr_defaults;
  long long hlr_timeout_ms = hlr_defaults.timeout.count(), hlr_retry_ms = hlr_defaults.delivery.retry_initial.count(),
            hlr_retry_max_ms = hlr_defaults.delivery.retry_max.count(),
            hlr_poll_ms = hlr_defaults.delivery.poll.count();
  double hlr_max_rate = hlr_defaults.delivery.max_rate;
  cli::CommandLine cl({.name = "ads-server",
                       .usage = "--db PATH --master-key PATH --listen HOST:PORT [options]",
                       .description = "The issuer's server: authenticates retailer terminals (STE) relayed by DTD\n"
                                      "agents and runs their secure sessions. Create the database and the key with\n"
                                      "`adsctl init` first. Prints `listening on HOST:PORT` once it accepts connections.",
                       .exit_codes = "0 stopped by SIGTERM/SIGINT, 1 usage error, 2 cannot start"});
  cl.options().add_options()
      ("db", po::value(&o.db_path)->required(), "the ADS database (from `adsctl init`): a SQLite file (PATH or sqlite:PATH), or a postgresql:// URL "
       "for several daemons on one database")
      ("master-key", po::value(&o.key_path)->required(), "the master key file (from `adsctl init`)")
      ("listen", po::value(&listen)->required(), "HOST:PORT to accept DTD connections on; port 0 picks a free port")
      ("max-connections", po::value(&o.max_connections)->default_value(1024), "DTD connections at once")
      ("max-connections-per-address", po::value(&o.max_connections_per_address)->default_value(o.max_connections_per_address),
       "DTD connections at once from one source address (IPv6: one /64); 0 = no cap")
      ("hello-rate", po::value(&hello_rate)->default_value(hello_rate, "5"),
       "new connections (hellos) per second per source address; over it: Error Busy and close; 0 = no limit")
      ("hello-burst", po::value(&hello_burst)->default_value(hello_burst, "20"), "hellos a source may make at once before --hello-rate applies")
      ("hello-timeout-ms", po::value(&hello_timeout_ms)->default_value(hello_timeout_ms), "from accept until the DTD's LinkHello")
      ("link-timeout-ms", po::value(&link_timeout_ms)->default_value(link_timeout_ms), "a DTD link silent this long is closed")
      ("keepalive-ms", po::value(&keepalive_ms)->default_value(keepalive_ms), "send a Keepalive after this much silence; below --link-timeout-ms")
      ("max-sessions-per-link", po::value(&max_sessions)->default_value(max_sessions), "sessions at once on one DTD link")
      ("handshake-timeout-ms", po::value(&handshake_ms)->default_value(30'000), "from H1 to an established session")
      ("idle-timeout-ms", po::value(&idle_ms)->default_value(900'000), "silence allowed on an established session")
      ("lockout-failures", po::value(&lockout_failures)->default_value(5), "failed authentications that lock a retailer card")
      ("lockout-window-s", po::value(&lockout_window_s)->default_value(3600), "... counted within this many seconds")
      ("lockout-backoff-s", po::value(&lockout_backoff_s)->default_value(lockout_backoff_s),
       "how long a lock lasts; it ends by itself, doubled for each lock in a row")
      ("lockout-max-backoff-s", po::value(&lockout_max_backoff_s)->default_value(lockout_max_backoff_s),
       "the longest a lock lasts")
      ("address-failures", po::value(&address_failures)->default_value(address_failures),
       "refusals before authentication (and bad terminal signatures) from one source address that back it off; "
       "0 = never")
      ("address-window-s", po::value(&address_window_s)->default_value(address_window_s), "... counted within this many seconds")
      ("address-backoff-s", po::value(&address_backoff_s)->default_value(address_backoff_s),
       "how long a backed-off address's H1s are refused (Busy), doubled for each back-off in a row")
      ("address-max-backoff-s", po::value(&address_max_backoff_s)->default_value(address_max_backoff_s),
       "the longest back-off of an address")
      ("max-handshakes-per-link-minute", po::value(&handshakes_per_minute)->default_value(handshakes_per_minute),
       "H1s one DTD link may start in a minute; beyond: Error Busy; 0 = no limit")
      ("session-retention-days", po::value(&retention_days)->default_value(retention_days),
       "sessions journal rows older than this are pruned (at start and hourly); 0 = keep all")
      ("profile", po::value(&o.profile_path),
       "card profile JSON for personalisation (default: gsm-sim-default.json in share/cardperso/profiles of the "
       "prefix the program is installed in, e.g. /usr/share/cardperso/profiles; then ./profiles; none found: "
       "personalisation disabled)")
      ("policy", po::value(&o.policy_path), "assessment policy JSON (default: name and date_of_birth required, min age 18)")
      ("assess-command", po::value(&o.assess_command), "absolute path of an external go/no-go program (details JSON on stdin)")
      ("spn", po::value(&o.spn)->default_value("cardperso"), "service provider name written to new cards")
      ("require-card-key", po::bool_switch(&o.require_card_key),
       "refuse cards without a card key (CSV batches): a card must prove it is the stock card it claims "
       "before any code leaves the server")
      ("plmn", po::value(&o.plmns)->composing(), "PLMN selector entry MCCMNC or MCC/MNC, repeatable, in order of "
       "preference (default: the home PLMN of each card's IMSI)")
      ("mnc-length", po::value(&o.mnc_length)->default_value(2), "MNC digits of the IMSIs (2 or 3), written to EF_AD")
      ("hlr-ctrl", po::value(&hlr_ctrl),
       "HOST:PORT of the HLR's CTRL interface (osmo-hlr: port 4259) to provision every personalised, modified or "
       "retired card's subscriber; keep it on the operator's internal network. Without it, jobs wait in the "
       "outbox (`adsctl hlr status`)")
      ("metrics-listen", po::value(&metrics_listen),
       "[HOST:]PORT to serve Prometheus metrics on (GET /metrics); a bare port binds 127.0.0.1. The page "
       "has no secrets but tells how busy the issuer is: keep it on a management network")
      ("hlr-timeout-ms", po::value(&hlr_timeout_ms)->default_value(hlr_timeout_ms), "HLR connect and reply deadline")
      ("hlr-retry-ms", po::value(&hlr_retry_ms)->default_value(hlr_retry_ms),
       "first wait after a failed HLR delivery; doubles with each failure")
      ("hlr-retry-max-ms", po::value(&hlr_retry_max_ms)->default_value(hlr_retry_max_ms), "the longest wait between tries")
      ("hlr-poll-ms", po::value(&hlr_poll_ms)->default_value(hlr_poll_ms),
       "how often to look for jobs queued by other processes (adsctl hlr sync)")
      ("hlr-max-rate", po::value(&hlr_max_rate)->default_value(hlr_max_rate, "0"),
       "HLR jobs per second at most, to spare the HLR during a large sync; 0 = no limit");
  cli::add_log_options(cl.options(), o.log);
  po::variables_map vm;
  if (auto stop = cl.parse(argc, argv, vm)) return *stop;
  auto usage_error = [&cl](const std::string& message) { return cl.usage_error(message); };
  auto endpoint = net::parse_endpoint(listen);
  if (!endpoint) return usage_error("--listen: " + endpoint.error().message);
  o.listen = *endpoint;
  if (o.max_connections == 0) return usage_error("--max-connections must be at least 1");
  if (max_sessions == 0) return usage_error("--max-sessions-per-link must be at least 1");
  if (handshake_ms <= 0 || idle_ms <= 0) return usage_error("timeouts must be positive");
  if (hello_timeout_ms <= 0 || link_timeout_ms <= 0 || keepalive_ms <= 0)
    return usage_error("--hello-timeout-ms, --link-timeout-ms and --keepalive-ms must be positive");
  if (keepalive_ms >= link_timeout_ms)
    return usage_error("--keepalive-ms must be below --link-timeout-ms (or every quiet link would time out)");
  if (!(hello_rate >= 0) || hello_rate > 1e6) return usage_error("--hello-rate must be between 0 (no limit) and 1000000");
  if (hello_rate > 0 && (!(hello_burst >= 1) || hello_burst > 1e6))
    return usage_error("--hello-burst must be between 1 and 1000000");
  if (lockout_failures < 1) return usage_error("--lockout-failures must be at least 1");
  if (lockout_window_s <= 0) return usage_error("--lockout-window-s must be positive");
  if (lockout_backoff_s <= 0 || lockout_max_backoff_s < lockout_backoff_s)
    return usage_error("--lockout-backoff-s must be positive and at most --lockout-max-backoff-s");
  if (address_failures < 0) return usage_error("--address-failures must be 0 (never) or more");
  if (address_window_s <= 0 || address_backoff_s <= 0 || address_max_backoff_s < address_backoff_s)
    return usage_error("--address-window-s and --address-backoff-s must be positive, --address-max-backoff-s at "
                       "least --address-backoff-s");
  if (retention_days < 0 || retention_days > 36'500) return usage_error("--session-retention-days must be 0 to 36500");
  if (o.mnc_length != 2 && o.mnc_length != 3) return usage_error("--mnc-length must be 2 or 3");
  if (!o.assess_command.empty() && o.assess_command[0] != '/')
    return usage_error("--assess-command must be an absolute path (no shell, no PATH search)");
  if (o.spn.empty() || o.spn.size() > 16) return usage_error("--spn must be 1 to 16 characters");
  if (!metrics_listen.empty()) {
    auto metrics_endpoint = metrics::parse_listen_address(metrics_listen);
    if (!metrics_endpoint) return usage_error("--metrics-listen: " + metrics_endpoint.error().message);
    o.metrics_listen = *metrics_endpoint;
  }
  if (!hlr_ctrl.empty()) {
    auto hlr_endpoint = net::parse_endpoint(hlr_ctrl);
    if (!hlr_endpoint || hlr_endpoint->port == 0) {
      return usage_error("--hlr-ctrl: " + (hlr_endpoint ? std::string("give the CTRL port (osmo-hlr: 4259)")
                                                        : hlr_endpoint.error().message));
    }
    if (hlr_timeout_ms <= 0 || hlr_retry_ms <= 0 || hlr_retry_max_ms < hlr_retry_ms || hlr_poll_ms <= 0)
      return usage_error("--hlr-timeout-ms, --hlr-retry-ms and --hlr-poll-ms must be positive, --hlr-retry-max-ms at "
                         "least --hlr-retry-ms");
    if (!(hlr_max_rate >= 0) || hlr_max_rate > 1e6) return usage_error("--hlr-max-rate must be 0 (no limit) to 1000000");
    HlrLinkOptions h;
    h.ctrl = *hlr_endpoint;
    h.timeout = std::chrono::milliseconds(hlr_timeout_ms);
    h.delivery.retry_initial = std::chrono::milliseconds(hlr_retry_ms);
    h.delivery.retry_max = std::chrono::milliseconds(hlr_retry_max_ms);
    h.delivery.poll = std::chrono::milliseconds(hlr_poll_ms);
    h.delivery.max_rate = hlr_max_rate;
    o.hlr = h;
  }
  o.connection.max_sessions = max_sessions;
  o.connection.hello_timeout = std::chrono::milliseconds(hello_timeout_ms);
  o.connection.link_timeout = std::chrono::milliseconds(link_timeout_ms);
  o.connection.keepalive_interval = std::chrono::milliseconds(keepalive_ms);
  o.hello_rate.rate_per_second = hello_rate;
  o.hello_rate.burst = hello_burst;
  o.connection.timeouts.handshake = std::chrono::milliseconds(handshake_ms);
  o.connection.timeouts.idle = std::chrono::milliseconds(idle_ms);
  o.lockout.max_failures = lockout_failures;
  o.lockout.window = std::chrono::seconds(lockout_window_s);
  o.lockout.backoff = std::chrono::seconds(lockout_backoff_s);
  o.lockout.max_backoff = std::chrono::seconds(lockout_max_backoff_s);
  o.address_penalties.max_failures = address_failures;
  o.address_penalties.window = std::chrono::seconds(address_window_s);
  o.address_penalties.backoff = std::chrono::seconds(address_backoff_s);
  o.address_penalties.max_backoff = std::chrono::seconds(address_max_backoff_s);
  o.connection.max_handshakes_per_minute = handshakes_per_minute;
  o.session_retention = std::chrono::hours(24 * retention_days);
  return o;
}

}  // namespace cardperso::ads
