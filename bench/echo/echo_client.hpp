#pragma once
// The load side of the baseline: C connections opened first (not timed), then N sessions shared
// among them, each session its exchanges in order on one connection, as a shop's DTD link carries
// one session after another. One thread, like the ads-server it is compared with.
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "cardperso/net/endpoint.hpp"
#include "echo_options.hpp"
#include "latency_histogram.hpp"

namespace cardperso::bench {

struct EchoPlan {
  net::Endpoint server;
  std::vector<Exchange> exchanges;
  std::size_t connections = 1;
  std::size_t sessions = 1;
  std::chrono::milliseconds timeout{10'000};
};

struct EchoReport {
  std::size_t connections_open = 0;
  std::size_t sessions_ok = 0;
  std::size_t round_trips = 0;
  std::size_t errors = 0;                 // failed connects plus failed sessions
  std::vector<std::string> first_errors;  // the first few, for the operator
  double connect_seconds = 0;
  double run_seconds = 0;  // from the last connection opened to the last session done
  std::uint64_t bytes_sent = 0;
  std::uint64_t bytes_received = 0;
  LatencyHistogram round_trip;
  LatencyHistogram session;
};

EchoReport run_echo_client(const EchoPlan& plan);

}  // namespace cardperso::bench
