#pragma once
// The ads-server command line (see the process contract in the README / docs).
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "cardperso/ads/hlr/provisioner.hpp"
#include "cardperso/ads/service/address_penalties.hpp"
#include "cardperso/ads/service/connection_session.hpp"
#include "cardperso/ads/service/hello_rate_limiter.hpp"
#include "cardperso/ads/store/retailer_store.hpp"
#include "cardperso/cli/log_options.hpp"
#include "cardperso/net/endpoint.hpp"

namespace cardperso::ads {

// The link to the operator's HLR (osmo-hlr's CTRL interface) and how its outbox is delivered.
struct HlrLinkOptions {
  net::Endpoint ctrl;
  std::chrono::milliseconds timeout{5'000};  // connect, and every reply
  hlr::ProvisionerOptions delivery;
};

struct AdsOptions {
  std::string db_path;
  std::string key_path;
  net::Endpoint listen;
  std::size_t max_connections = 1024;
  std::size_t max_connections_per_address = 64;  // 0: no cap (see net/source_address.hpp)
  HelloRateOptions hello_rate;                   // rate_per_second 0: no limit
  ConnectionOptions connection;
  LockoutPolicy lockout;
  AddressPenaltyOptions address_penalties;  // max_failures 0: addresses are never backed off
  std::chrono::seconds session_retention{std::chrono::hours(24 * 90)};  // 0: keep every journal row
  // Personalisation. profile_path empty: look for the shipped profile (see find_default_profile).
  std::string profile_path;
  std::string policy_path;      // empty: default_policy() (name and date of birth required, age >= 18)
  std::string assess_command;   // absolute path of an external go/no-go program (overrides the policy file's)
  std::string spn = "cardperso";
  bool require_card_key = false;  // refuse cards that cannot prove they are the stock card they claim
  std::vector<std::string> plmns;  // MCCMNC / MCC/MNC; none: the home PLMN of each card's IMSI
  int mnc_length = 2;
  // The operator's HLR (osmo-hlr CTRL); empty: jobs wait in the outbox until a server with it runs.
  std::optional<HlrLinkOptions> hlr;
  // The Prometheus endpoint (GET /metrics); empty: none. A bare port binds the loopback address.
  std::optional<net::Endpoint> metrics_listen;
  cli::LogOptions log;
};

// The options, or an exit code to return at once (0 after --help, 1 after a usage error, which is
// printed to stderr).
std::variant<AdsOptions, int> parse_ads_options(int argc, char** argv);

}  // namespace cardperso::ads
