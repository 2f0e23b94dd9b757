#pragma once
// The I/O side of the load generator: S shops on one io_context, each one TCP link to the ADS
// opened like dtd-agent's (LinkHello), then one ShopSession after another on it. With several ADS
// addresses shop i prefers address i % n and fails over to the others in order (dtd::AdsFailover,
// as dtd-agent does) when its link drops or a connect fails. Round trips are
// counted at the DTD: a burst of frames written to the ADS followed by a wait for its answer is one
// round trip (the answer may be several frames: C2 on both channels, P4 + Receipt).
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cardperso/cardsim/card_image.hpp"
#include "cardperso/common/secret_bytes.hpp"
#include "cardperso/net/endpoint.hpp"
#include "latency_histogram.hpp"
#include "loadgen_options.hpp"
#include "process_stats.hpp"
#include "shop_setup.hpp"

namespace cardperso::bench {

struct LoadPlan {
  LoadMode mode = LoadMode::Handshake;
  // The ADS addresses (at least one). Shop i prefers ads[i % n], then the next ones in order,
  // wrapping around; a dropped link starts again from its preferred one.
  std::vector<net::Endpoint> ads;
  pid_t server_pid = 0;
  std::vector<ShopSetup> shops;
  SecretBytes batch_secret;
  std::size_t sessions = 0;  // 0: duration
  std::chrono::milliseconds duration{10'000};
  std::chrono::milliseconds warmup{1'000};
  std::chrono::milliseconds hold{5'000};
  std::chrono::milliseconds timeout{10'000};
  std::size_t cards_per_session = 0;
  double rate = 0;  // sessions/s over all shops (open loop); 0: back to back
  bool progress = true;
};

// One round trip's frame bytes (whole frames, headers included), as the echo baseline replays it.
struct ExchangeBytes {
  std::size_t request = 0;
  std::size_t response = 0;
};

// Round trips of one session by what started them.
struct RoundTripCounts {
  std::size_t handshake = 0;  // H1/H2, H3/H4
  std::size_t customer = 0;   // C1/C2
  std::size_t card = 0;       // P1/K1, K2/P2, P3/P4
  std::size_t terminate = 0;  // Terminate (ch2) / Terminate (ch1)
  std::size_t other = 0;
  std::size_t total() const { return handshake + customer + card + terminate + other; }
};

// Where one shop's link ended up.
struct ShopLinkReport {
  std::optional<std::size_t> ads;  // index into LoadPlan::ads of its last link; nullopt: never linked
  std::string address;             // that address, "HOST:PORT"
  std::uint64_t failovers = 0;     // links opened on another address because the preferred ones did not answer
};

struct Snapshot {
  std::optional<ProcessStats> server, client;
};

struct LoadReport {
  std::size_t shops_connected = 0;
  double connect_seconds = 0;
  double seconds = 0;  // the measured window
  std::size_t sessions_ok = 0;
  std::size_t sessions_failed = 0;
  std::size_t cards_ok = 0;
  std::size_t round_trip_mismatches = 0;  // sessions whose counts differ from the expected ones
  std::size_t sessions_uncounted = 0;     // ended in the warm-up or after the window
  // Open loop (--rate): counted sessions that started later than planned because the shop's previous
  // session had not ended yet, and the worst such delay. Session latency runs from the planned start.
  std::size_t late_starts = 0;
  std::chrono::microseconds worst_late{0};
  std::map<std::string, std::size_t> errors;
  std::vector<std::string> first_errors;
  LatencyHistogram session, round_trip, handshake, card;
  RoundTripCounts round_trips;  // summed over the counted sessions
  std::uint64_t customer_apdus = 0;
  Snapshot before, after;       // at the start and end of the measured window
  // Per shop (in shop order): the address it ended on and how often it failed over; and the sum.
  std::vector<ShopLinkReport> shop_links;
  std::uint64_t failovers = 0;
  // Idle mode: server memory once started and while the shops are held.
  std::optional<ProcessStats> server_idle_start, server_held;
};

// One session on one link, before the load: checks the setup and records the exchanges the echo
// baseline replays. Fails with the session's error.
struct Calibration {
  std::vector<ExchangeBytes> exchanges;
  RoundTripCounts round_trips;
  std::size_t customer_apdus = 0;
};
Result<Calibration> calibrate(const LoadPlan& plan);

LoadReport run_load(const LoadPlan& plan);

// What a session of this plan must count: 2 handshake, 1 C1/C2 and 2 P per card, 1 terminate.
RoundTripCounts expected_round_trips(std::size_t cards);

}  // namespace cardperso::bench
