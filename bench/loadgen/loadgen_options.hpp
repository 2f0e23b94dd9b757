#pragma once
// Command line of cardperso-loadgen (docs/performance.md §Load generator).
#include <chrono>
#include <cstddef>
#include <optional>
#include <variant>
#include <string>
#include <vector>

#include "cardperso/common/result.hpp"
#include "cardperso/net/endpoint.hpp"

namespace cardperso::bench {

enum class LoadMode { Handshake, Personalise, Idle };
std::string_view to_string(LoadMode mode);

struct LoadOptions {
  LoadMode mode = LoadMode::Handshake;
  std::size_t shops = 100;
  std::size_t sessions = 0;                  // 0: run for `duration` instead
  std::chrono::milliseconds duration{10'000};
  double rate = 0;                           // sessions/s over all shops, open loop (0: back to back)
  std::size_t cards_per_session = 1;         // personalise mode
  std::chrono::milliseconds warmup{1'000};   // sessions finished in this first stretch are not counted
  std::chrono::milliseconds hold{5'000};     // idle mode: how long the shops stay connected
  std::chrono::milliseconds timeout{10'000}; // every read of a reply
  std::size_t retailers = 0;                 // 0: one retailer card per shop
  bool baseline = true;                      // run the echo baseline first
  std::string work_dir;                      // "" = a fresh directory under /tmp, removed afterwards
  std::string db;                            // "" = WORK_DIR/ads.db (SQLite); or a postgresql:// URL
  bool keep_work_dir = false;
  std::string ads_server;                    // paths of the programs it runs
  std::string adsctl;
  std::string echo_bench;
  std::string server_log_level = "warn";
  std::size_t max_sessions_per_link = 0;     // passed to ads-server when non-zero
  std::vector<std::string> server_args;      // more ads-server arguments, as given
  // --setup-only: make the fixture in --work-dir, write its manifest and exit (for --ads-address later).
  bool setup_only = false;
  // --ads-address: run against these already-running ads-servers (on the --work-dir fixture's
  // database) instead of starting one; shop i prefers address i % n and fails over to the others.
  std::vector<net::Endpoint> ads_addresses;
};

// Ok(nullopt) when --help was asked for (usage already printed).
std::variant<LoadOptions, int> parse_load_options(int argc, char** argv);

}  // namespace cardperso::bench
