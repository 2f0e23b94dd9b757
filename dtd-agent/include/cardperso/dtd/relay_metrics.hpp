#pragma once
// What the relay reports to dtd-agent's metrics (the program exports them: dtd_metrics.hpp). Called
// on the io thread. Nothing reported names a retailer, a customer or a card: events, outcomes from a
// fixed set, durations and levels only.
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>

#include "cardperso/dtd/customer_desk.hpp"

namespace cardperso::dtd {

// The relay's state as it is now; reported whenever it may have changed.
struct RelayLevels {
  bool ads_link_up = false;          // connected and past the LinkHello
  bool ste_link_up = false;          // a terminal connected (TCP, or the tty open)
  bool retailer_signed_on = false;   // a session established: the DTD holds SK_D
  std::size_t requests_waiting = 0;  // the desk's requests without an outcome yet (0 without a desk)
};

enum class RelayDirection { SteToAds, AdsToSte };

class RelayMetrics {
 public:
  virtual ~RelayMetrics() = default;
  // One attempt to open the ADS link (TCP connect and LinkHello); connected false: it failed.
  virtual void ads_connect_attempt(bool connected) = 0;
  // A session established through this relay (the STE's L1 handover taken).
  virtual void session_relayed() = 0;
  // A channel-1 frame passed on unchanged.
  virtual void frame_relayed(RelayDirection direction) = 0;
  // A request's outcome, `took` after its CustomerDetails went to the ADS (nullopt: that sending was not
  // seen, so no latency is made up for it).
  virtual void request_served(RequestOutcome outcome, std::optional<std::chrono::duration<double>> took) = 0;
  virtual void levels(const RelayLevels& now) = 0;
  // The ADS link came up on address `index` of the --ads list (0: the most preferred), "HOST:PORT".
  // failover: a more preferred address did not answer first; failback: the link moved back to a more
  // preferred address while idle. (Not pure: a relay with one address needs neither.)
  virtual void ads_linked(std::size_t /*index*/, const std::string& /*address*/, bool /*failover*/,
                          bool /*failback*/) {}
};

}  // namespace cardperso::dtd
