#pragma once
// A stream of personalisations against the real ads-server while the ADS is killed with SIGKILL
// again and again. Shops (bench/loadgen ShopSession: STE + DTD cores, in-memory SIMs) run on one
// io_context in this process, so every card survives the ADS's death as a physical card would. A
// killer on the same thread picks seeded pseudo-random moments, notes which protocol phase each shop
// is in, kills the server, restarts it on the same database and lets the shops reconnect. After the
// last kill each shop completes its final sessions on a calm server, which is then stopped with
// SIGTERM. What the ADS stored is checked afterwards (crash_checks.hpp).
#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "cardperso/cardsim/card_image.hpp"
#include "cardperso/cardsim/sim_card.hpp"
#include "cardperso/common/secret_bytes.hpp"
#include "shop_setup.hpp"

namespace cardperso::crash {

// Where a shop is in its session, from the DTD's side of the ADS link.
enum class Phase {
  Connect,    // opening the link (LinkHello)
  Handshake,  // H1/H2 or H3/H4 in flight
  Customer,   // C1 sent, waiting for C2
  Card,       // P1 sent, waiting for the script (P2)
  Script,     // P2 received, the script running on the card, P3 not sent yet
  Result,     // P3 sent, waiting for P4
  Receipt,    // P4 received, waiting for the Receipt
  Terminate,  // Terminate sent
  Between,    // between two messages of the shop's own making (next C1, next session)
};
std::string_view name(Phase phase);

using ShopStock = bench::ShopSetup;

struct StreamPlan {
  std::vector<std::string> server_argv;  // ads-server and its options, without --listen
  // Several daemons on one database (PostgreSQL): `servers` processes of server_argv; only the first
  // is killed (and restarted on the same address). Shop i prefers server i % servers, fails over to
  // the next ones in order when its link drops or a connect fails, and fails back to its preferred
  // one between sessions.
  std::size_t servers = 1;
  std::vector<ShopStock> shops;
  SecretBytes batch_secret;
  std::uint64_t seed = 1;
  std::size_t kills = 50;
  std::chrono::milliseconds kill_after_min{40}, kill_after_max{320};  // after the server is back
  std::chrono::milliseconds script_time_max{20};  // how long a script "runs" on a card (uniform)
  std::size_t cards_per_session = 2;
  // A shop's pause after a completed session, as a counter between customers. It bounds the cards a
  // run uses whatever the machine's speed (a shop out of blank cards fails the run).
  std::chrono::milliseconds session_pause{15};
  std::size_t final_sessions = 1;  // per shop, after the last kill, on a server left alone
  std::chrono::milliseconds reply_timeout{15'000};
};

struct Kill {
  double at_seconds = 0;
  std::vector<Phase> shops;  // the phase of each shop when the signal went
};

struct StreamReport {
  std::string fatal;  // the run could not go on (server did not restart, ...): empty when it did
  std::vector<Kill> kills;
  double seconds = 0;
  double restart_seconds = 0;  // in all, from SIGKILL to "listening on"
  std::size_t sessions_ok = 0, sessions_broken = 0;  // broken: ended by an error (a kill, mostly)
  std::map<std::string, std::size_t> errors;         // by kind
  std::vector<std::string> first_errors;
  std::vector<std::string> final_errors;  // sessions after the last kill that did not complete
  std::size_t final_sessions_ok = 0;
  std::set<std::string> completed;  // ICCIDs whose P4 (personalised) and Receipt reached the shop
  std::set<std::string> retried;    // cards interrupted by a kill and inserted once more
  std::set<std::string> interrupted;
  std::map<std::string, cardsim::SimCard> cards;  // every card ever inserted, as it is now
  bool server_stopped_cleanly = false;
  std::string server_stop_error;
  // With several servers: per shop, the links opened on a server other than its preferred one
  // (failovers) and the links moved back to its preferred one (failbacks); sessions completed per server.
  std::vector<std::size_t> failovers, failbacks;
  std::vector<std::size_t> sessions_by_server;
};

StreamReport run_crash_stream(const StreamPlan& plan);

}  // namespace cardperso::crash
