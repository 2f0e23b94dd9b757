#pragma once
// The DTD half of the DTD<->ADS link, sans-I/O (proto/PROTOCOL.md §1, §3, §8): the LinkHello
// it opens with and the check of the ADS's answer, then the keepalive and link timeout of the open
// link and its session slot. A DTD relays one session at a time; the slot says which one is in
// flight (0: an H1 went out, its H2 not back yet), so the relay knows what to end when a side goes.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "cardperso/common/result.hpp"
#include "cardperso/proto/link_core.hpp"

namespace cardperso::proto {

// The first frame of a link: LinkHello offering every version this side speaks.
Frame make_link_hello(const std::string& node_id);
// The ADS's answer to the hello: its LinkHelloAck, or why the link is refused.
Result<LinkHelloAck> check_link_hello_answer(const Frame& answer);

// Outlives the ADS links it serves: the session slot is what a lost link ends.
class DtdLinkCore {
 public:
  DtdLinkCore(std::chrono::milliseconds keepalive_interval, std::chrono::milliseconds link_timeout)
      : liveness_(keepalive_interval, link_timeout, TimePoint{}) {}

  // A new ADS link answered the hello at `now`: its keepalive and link timeout count from there.
  void opened(TimePoint now) {
    liveness_.on_sent(now);
    liveness_.on_received(now);
  }
  // Call when a read timed out: a Keepalive when due, LinkDown when the ADS has been silent too long.
  LinkActions on_tick(TimePoint now);
  void on_received(TimePoint now) { liveness_.on_received(now); }
  void on_sent(TimePoint now) { liveness_.on_sent(now); }
  TimePoint deadline() const { return liveness_.deadline(); }

  // The session slot.
  void h1_sent() { in_flight_ = 0; }
  void h2_received(std::uint32_t session) { in_flight_ = session; }
  // The ADS refused `session` (0: a handshake not yet named): frees the slot when it is the one in flight.
  void refused(std::uint32_t session);
  void session_over() { in_flight_.reset(); }
  const std::optional<std::uint32_t>& in_flight() const { return in_flight_; }

 private:
  LinkLiveness liveness_;
  std::optional<std::uint32_t> in_flight_;
};

}  // namespace cardperso::proto
