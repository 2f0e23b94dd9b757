#pragma once
// A blocking IPv4 TCP connection to a peer that may not be listening yet (osmo-hlr's GSUP and CTRL
// ports), bounded by a deadline so a test never hangs on connect.
#include <string>

#include "cardperso/common/result.hpp"
#include "cardperso/testing/child_process.hpp"

namespace cardperso::testing {

// Connects to ip:port (dotted IPv4) within timeout; the socket is blocking and close-on-exec. The
// error says who refused or what timed out (Errc::Unavailable: nobody listens there now).
Result<int> connect_tcp(const std::string& ip, int port, Millis timeout);

}  // namespace cardperso::testing
