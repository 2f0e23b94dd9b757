#pragma once
// --metrics-listen [HOST:]PORT, the same in every program. A bare port binds 127.0.0.1: the page holds
// no secret but tells how busy the program is, so it stays on loopback unless the operator names an
// address. Port 0 picks a free port (the program logs the one it got).
#include <string_view>

#include "cardperso/common/result.hpp"
#include "cardperso/net/endpoint.hpp"

namespace cardperso::metrics {

Result<net::Endpoint> parse_listen_address(std::string_view text);

}  // namespace cardperso::metrics
