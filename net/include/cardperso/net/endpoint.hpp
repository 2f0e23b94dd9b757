#pragma once
// "host:port" as written on command lines and in config files.
#include <cstdint>
#include <string>
#include <string_view>

#include "cardperso/common/result.hpp"

namespace cardperso::net {

struct Endpoint {
  std::string host;  // name, IPv4 or IPv6 literal (without brackets)
  std::uint16_t port = 0;

  // Round-trips through parse_endpoint: IPv6 literals get their brackets back.
  std::string to_string() const;
  bool operator==(const Endpoint&) const = default;
};

// Accepts "host:port", "1.2.3.4:port" and "[::1]:port". Port 0 is accepted (listen on any free port).
Result<Endpoint> parse_endpoint(std::string_view text);

}  // namespace cardperso::net
