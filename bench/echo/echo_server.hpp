#pragma once
// The echo side of the baseline: the same listener, framing and one-thread io_context as the
// ads-server, with no protocol work. A request payload starts with the size of the frame to answer
// (u32, whole frame); the answer carries that many bytes.
#include "cardperso/net/endpoint.hpp"

namespace cardperso::bench {

// Listens, prints "listening on HOST:PORT" on stdout (the parent reads the port from it) and runs
// until SIGTERM/SIGINT. Returns the process exit code.
int run_echo_server(const net::Endpoint& listen, std::size_t max_connections);

}  // namespace cardperso::bench
