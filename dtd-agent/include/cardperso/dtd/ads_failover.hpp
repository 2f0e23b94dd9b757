#pragma once
// Which ADS address the DTD's link goes to, when several are given (dtd-agent --ads A,B,...; order =
// preference). Sans-I/O: the link loop reports attempts, links and losses with the time; the chooser
// answers with the address to try next, how long to back off, and when to try to fail back.
//
//  - Connecting: the addresses are tried in order; a failed attempt moves on to the next one at once,
//    and only after a whole round failed does the loop back off (net::Backoff, as with one address)
//    before starting again from the most preferred.
//  - A lost link: the next attempt goes to the most preferred address again (it may be back).
//  - Fail-back: linked to a less preferred address, every `failback_every` the loop may probe the more
//    preferred ones (most preferred first) while no retailer session is open on the link, and move
//    the link to the first that answers its LinkHello. A session is never moved: the sealed channel
//    and the session's state live in the ADS process that holds it.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <vector>

#include "cardperso/net/backoff.hpp"
#include "cardperso/net/endpoint.hpp"

namespace cardperso::dtd {

struct AdsFailoverOptions {
  std::vector<net::Endpoint> addresses;  // at least one; order = preference
  net::BackoffOptions backoff;           // between full rounds of failed attempts
  // How often a link on a less preferred address probes the more preferred ones; 0: never.
  std::chrono::milliseconds failback_every{30'000};
};

class AdsFailover {
 public:
  using Clock = std::chrono::steady_clock;

  // Throws std::invalid_argument without an address (a programmer error: the options check it).
  explicit AdsFailover(AdsFailoverOptions options, std::uint64_t seed = std::random_device{}());

  std::size_t size() const { return options_.addresses.size(); }
  const net::Endpoint& address(std::size_t index) const { return options_.addresses.at(index); }

  // Where the next connection attempt goes.
  std::size_t next() const { return next_; }
  // The address of the link while there is one.
  const std::optional<std::size_t>& linked() const { return linked_; }

  // The attempt at next() failed. `wait` is set when it was the last address of a round: back off
  // that long, then start again from the most preferred (next() is then 0).
  struct AfterFailure {
    std::size_t failed = 0;  // the address that did not answer
    std::optional<std::chrono::milliseconds> wait;
  };
  AfterFailure attempt_failed();
  // The attempt at next() gave a link.
  void connected(Clock::time_point now);
  // The link went down: start again from the most preferred address.
  void link_lost();

  // When a fail-back probe is due next; nullopt while none will be (no link, linked to the most
  // preferred address, or fail-back off).
  std::optional<Clock::time_point> failback_due() const;
  // The addresses to probe now, most preferred first: those ahead of the linked one, if a probe is
  // due and no session is open. With a session open the probe waits for a whole period again.
  std::vector<std::size_t> failback_candidates(Clock::time_point now, bool session_open);
  // None of the candidates answered (or the session opened meanwhile): try again a period later.
  void failback_failed(Clock::time_point now);
  // The candidate `index` answered its LinkHello and the link now runs there.
  void failed_back(std::size_t index, Clock::time_point now);

  // Links that came up on a less preferred address because those ahead of it did not answer: the
  // DTD failed over. Fail-backs are counted apart.
  std::uint64_t failovers() const { return failovers_; }
  std::uint64_t failbacks() const { return failbacks_; }

 private:
  void schedule_failback(Clock::time_point now);

  AdsFailoverOptions options_;
  net::Backoff backoff_;
  std::size_t next_ = 0;
  std::optional<std::size_t> linked_;
  std::optional<Clock::time_point> failback_at_;
  std::uint64_t failovers_ = 0;
  std::uint64_t failbacks_ = 0;
};

}  // namespace cardperso::dtd
