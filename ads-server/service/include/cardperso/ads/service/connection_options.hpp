#pragma once
// The limits and timers of one DTD link on the ADS (--hello-timeout, --keepalive, ...).
#include <chrono>
#include <cstddef>

#include "cardperso/proto/actions.hpp"
#include "cardperso/proto/ads_link_core.hpp"

namespace cardperso::ads {

struct ConnectionOptions {
  proto::Timeouts timeouts;                              // handshake and idle, per session
  std::chrono::milliseconds hello_timeout{10'000};       // from accept until the LinkHello
  std::chrono::milliseconds keepalive_interval{30'000};  // send a Keepalive after this much silence
  std::chrono::milliseconds link_timeout{90'000};        // nothing received this long: the DTD is gone
  std::size_t max_sessions = 16;                         // concurrent sessions on one DTD link
  std::size_t max_handshakes_per_minute = 120;           // H1s one link may start in a minute; 0: no limit

  proto::AdsLinkOptions link() const {
    return {hello_timeout, keepalive_interval, link_timeout, max_sessions, max_handshakes_per_minute};
  }
};

}  // namespace cardperso::ads
