#pragma once
// Command line of cardperso-echo-bench and the message sizes of a cardperso session it mirrors.
// Sizes are whole frames on the wire (16-byte header included), as the protocol sends them.
#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <optional>
#include <variant>
#include <string>
#include <string_view>
#include <vector>

#include "cardperso/common/result.hpp"
#include "cardperso/net/endpoint.hpp"

namespace cardperso::bench {

// One round trip: a request frame of request_bytes, answered by a frame of response_bytes.
struct Exchange {
  std::size_t request_bytes = 0;
  std::size_t response_bytes = 0;
};

// The request payload starts with the response size (4 bytes), so a request is at least 20 bytes.
inline constexpr std::size_t kMinRequestBytes = 16 + 4;
inline constexpr std::size_t kMinResponseBytes = 16;

// "handshake": H1 80 -> H2 70, H3 70 -> H4 70.
// "personalisation": a whole personalising session, the handshake then P1 60 -> P2 3000, P3 300 -> P4 100.
// "perso-only": P1..P4 without the handshake.
Result<std::vector<Exchange>> profile_exchanges(std::string_view profile);
// "80:70,70:70" -> two exchanges; every size is bounded by the 64 KiB frame limit.
Result<std::vector<Exchange>> parse_exchanges(std::string_view text);

struct EchoOptions {
  bool server_mode = false;
  // Client (default mode).
  std::string profile = "handshake";
  std::vector<Exchange> exchanges;
  std::size_t connections = 1;
  std::size_t sessions = 10'000;
  std::optional<net::Endpoint> connect;  // an external echo server instead of a spawned one
  pid_t server_pid = 0;                  // its pid, for CPU and RSS figures
  std::chrono::milliseconds timeout{10'000};
  // Server mode.
  net::Endpoint listen{"127.0.0.1", 0};
  std::size_t max_connections = 4096;
};

// Ok(nullopt) when --help was asked for (usage already printed).
std::variant<EchoOptions, int> parse_echo_options(int argc, char** argv);

}  // namespace cardperso::bench
