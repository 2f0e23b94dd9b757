#pragma once
// The dtd-agent command line (see the process contract).
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "cardperso/ads/policy/assessment_policy.hpp"
#include "cardperso/cli/log_options.hpp"
#include "cardperso/dtd/customer_input.hpp"
#include "cardperso/dtd/relay_session.hpp"
#include "cardperso/net/endpoint.hpp"

namespace cardperso::dtd {

struct DtdOptions {
  RelayOptions relay;
  std::optional<net::Endpoint> ste_listen;  // exactly one of these two
  std::optional<std::string> ste_tty;
  cli::LogOptions log;
  std::vector<CustomerRequest> requests;  // --customer / --modify, in command-line order
  std::string receipt_dir;                // --receipt-dir
  bool exit_after_last = false;           // --exit-after-last
  std::string pairing_file;               // --pairing-file: the key shared with the terminal
  std::optional<std::string> pair_code;   // --pair CODE: store the terminal's pairing code, exit
  // --metrics-listen: the Prometheus endpoint (GET /metrics); empty: none. A bare port binds loopback.
  std::optional<net::Endpoint> metrics_listen;
  // --console-listen: the retailer's web console; empty: none. A bare port binds loopback.
  std::optional<net::Endpoint> console_listen;
  // --policy: the form's rules (required fields, minimum age); default: the ADS's default policy.
  ads::policy::PolicyConfig policy = ads::policy::default_policy();
};

// The options, or an exit code to return at once (0 after --help, 1 after a usage error).
std::variant<DtdOptions, int> parse_dtd_options(int argc, char** argv);

}  // namespace cardperso::dtd
