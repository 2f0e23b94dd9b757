#pragma once
// Which connections count as one source for the per-source limits (connections at once, hellos per
// second): an IPv4 address, or an IPv6 /64, since one IPv6 subscriber is usually handed a whole /64
// and could otherwise cycle through 2^64 "sources". IPv4-mapped IPv6 addresses count as IPv4.
#include <optional>
#include <string>
#include <string_view>

#include "cardperso/net/asio.hpp"

namespace cardperso::net {

std::string source_key(const asio::ip::address& address);

// The source of a peer named "host:port" or "[v6]:port" (FramedStream::peer() of a TCP stream);
// nullopt when the name is not a numeric address (a serial device, a test's label).
std::optional<std::string> source_key_of_peer(std::string_view peer);

}  // namespace cardperso::net
