#pragma once
// What the provisioner needs of an HLR: put a subscriber in (create-or-update) and take one out, both
// idempotent. One implementation per kind of HLR (osmo_ctrl_client.hpp: osmo-hlr over CTRL); another
// HLR (a vendor's provisioning API, an HSS) is one more class behind this interface.
#include <string>

#include "cardperso/ads/hlr/subscriber_sync.hpp"
#include "cardperso/common/result.hpp"
#include "cardperso/net/asio.hpp"

namespace cardperso::ads::hlr {

class HlrClient {
 public:
  virtual ~HlrClient() = default;
  // Errors: Errc::Unavailable when the HLR could not be reached or did not answer (try later, nothing is
  // known to have changed); any other code when it refused (the message says why, without key material).
  virtual net::asio::awaitable<Result<void>> provision(const SubscriberData& subscriber) = 0;
  virtual net::asio::awaitable<Result<void>> remove(const std::string& imsi) = 0;
  // Drops any open connection (after a failure, or at shutdown).
  virtual void disconnect() = 0;
  // "osmo-hlr CTRL at 10.0.0.5:4259", for the log.
  virtual std::string describe() const = 0;
};

}  // namespace cardperso::ads::hlr
