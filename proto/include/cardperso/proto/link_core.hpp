#pragma once
// What the two halves of the DTD<->ADS link core (ads_link_core.hpp, dtd_link_core.hpp) hand their
// adapters, and the liveness clock they share. Sans-I/O like the role cores: frames and time in,
// actions out; the adapter writes the frames, prints the log lines and closes the socket.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "cardperso/proto/actions.hpp"

namespace cardperso::proto {

// A line for the adapter's log, already worded (the process contract's words); never a secret.
struct LinkLog {
  enum class Level : std::uint8_t { Debug, Info, Warn };
  Level level = Level::Info;
  std::string text;
};
// The hello succeeded: the link is open at this protocol version.
struct LinkUp {
  std::string node_id;
  std::uint8_t version = 0;
};
// A frame for one session of the table; `opened` when this frame (an H1) created it.
struct SessionFrame {
  std::uint32_t session = 0;
  bool opened = false;
  Frame frame;
};
// Close the link after the frames before this action; `why` names it for the sessions it ends.
struct LinkDown {
  std::string why;
};

using LinkAction = std::variant<SendFrame, LinkLog, LinkUp, SessionFrame, LinkDown>;
using LinkActions = std::vector<LinkAction>;

// Keepalive and dead-link timer of one open link: a Keepalive is due after `keepalive` without
// sending, the link is dead after `timeout` without receiving.
class LinkLiveness {
 public:
  enum class Due { Nothing, Keepalive, Dead };

  LinkLiveness(std::chrono::milliseconds keepalive, std::chrono::milliseconds timeout, TimePoint now)
      : keepalive_(keepalive), timeout_(timeout), last_sent_(now), last_received_(now) {}

  void on_sent(TimePoint now) { last_sent_ = now; }
  void on_received(TimePoint now) { last_received_ = now; }
  // Dead wins over a due keepalive: a link nobody answers gets no more frames.
  Due due(TimePoint now) const {
    if (now - last_received_ >= timeout_) return Due::Dead;
    if (now - last_sent_ >= keepalive_) return Due::Keepalive;
    return Due::Nothing;
  }
  TimePoint deadline() const { return std::min(last_sent_ + keepalive_, last_received_ + timeout_); }
  std::chrono::milliseconds timeout() const { return timeout_; }

 private:
  std::chrono::milliseconds keepalive_;
  std::chrono::milliseconds timeout_;
  TimePoint last_sent_;
  TimePoint last_received_;
};

// The read timeout until `deadline`: at least 1 ms, so a due timer never spins a zero-length read.
std::chrono::milliseconds wait_until(TimePoint deadline, TimePoint now);

}  // namespace cardperso::proto
