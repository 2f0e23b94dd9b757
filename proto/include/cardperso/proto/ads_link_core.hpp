#pragma once
// The ADS half of a DTD link, sans-I/O (proto/PROTOCOL.md §1, §3, §8): the LinkHello and its
// version negotiation, channel 0 afterwards (Keepalive, Error), the keepalive and link timeout,
// and the table of the link's sessions with its limit. Session frames go to the application (one
// AdsHandshake per session) as SessionFrame; the application reports a session's end with
// session_ended so later frames for it are refused as for an unknown session.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>

#include "cardperso/proto/link_core.hpp"

namespace cardperso::proto {

struct AdsLinkOptions {
  std::chrono::milliseconds hello_timeout{10'000};       // from accept until the LinkHello
  std::chrono::milliseconds keepalive_interval{30'000};  // send a Keepalive after this much silence
  std::chrono::milliseconds link_timeout{90'000};        // nothing received this long: the DTD is gone
  std::size_t max_sessions = 16;                         // concurrent sessions on one DTD link
  // H1s one link may start in a minute (a token bucket of this size, refilled evenly over the
  // minute); beyond it an H1 is refused Busy before any lookup. 0: no limit.
  std::size_t max_handshakes_per_minute = 120;
};

class AdsLinkCore {
 public:
  enum class State { AwaitHello, Open, Closed };
  // Session ids unique across the server's links; never 0.
  using SessionIdSource = std::function<std::uint32_t()>;

  // peer names the DTD's address in log lines; now is the accept time (the hello timeout starts).
  AdsLinkCore(AdsLinkOptions options, std::string peer, SessionIdSource next_id, TimePoint now);

  // Every frame read from the link.
  LinkActions on_frame(const Frame& frame, TimePoint now);
  // Call when a read timed out: the hello timeout, the keepalive or the link timeout, when due.
  LinkActions on_tick(TimePoint now);
  // The read failed for good (peer closed, bad frame, i/o error): the link is down.
  LinkActions on_read_failed(const std::string& error, bool bad_frame);
  // A frame was written to the link.
  void on_sent(TimePoint now) { liveness_.on_sent(now); }
  // The application's session is over: its id leaves the table.
  void session_ended(std::uint32_t session) { sessions_.erase(session); }

  // The hello timeout while waiting for the hello, else the next keepalive or link timeout.
  TimePoint deadline() const;
  State state() const { return state_; }
  // What the DTD calls itself in its LinkHello: unauthenticated, for the log only.
  const std::string& dtd_name() const { return dtd_name_; }
  const std::set<std::uint32_t>& sessions() const { return sessions_; }

 private:
  LinkActions on_hello(const Frame& frame, TimePoint now);
  LinkActions on_link_control(const Frame& frame);
  LinkActions on_session_frame(const Frame& frame, TimePoint now);
  bool admit_handshake(TimePoint now);
  LinkActions refuse_hello(ErrorCode code, const std::string& error, std::string log);
  std::string who() const;  // "DTD <name> at <peer>"

  AdsLinkOptions options_;
  std::string peer_;
  SessionIdSource next_id_;
  State state_ = State::AwaitHello;
  TimePoint hello_deadline_;
  LinkLiveness liveness_;
  std::string dtd_name_ = "unnamed DTD";
  std::set<std::uint32_t> sessions_;
  double handshake_tokens_ = 0;
  TimePoint tokens_at_{};
  std::uint64_t handshakes_refused_ = 0;  // since the last warning line
  std::optional<TimePoint> last_refusal_warning_;
};

}  // namespace cardperso::proto
