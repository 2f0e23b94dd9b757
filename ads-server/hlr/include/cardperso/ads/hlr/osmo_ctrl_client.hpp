#pragma once
// HlrClient for osmo-hlr: the subscriber sync sequences (subscriber_sync.hpp) over one CTRL connection,
// opened when needed and reopened after any failure.
#include <chrono>
#include <memory>

#include "cardperso/ads/hlr/ctrl_connection.hpp"
#include "cardperso/ads/hlr/hlr_client.hpp"
#include "cardperso/net/endpoint.hpp"

namespace cardperso::ads::hlr {

class OsmoCtrlClient final : public HlrClient {
 public:
  OsmoCtrlClient(net::Endpoint ctrl, std::chrono::milliseconds timeout) : ctrl_(std::move(ctrl)), timeout_(timeout) {}

  net::asio::awaitable<Result<void>> provision(const SubscriberData& subscriber) override;
  net::asio::awaitable<Result<void>> remove(const std::string& imsi) override;
  void disconnect() override { link_.reset(); }
  std::string describe() const override { return "osmo-hlr CTRL at " + ctrl_.to_string(); }

 private:
  net::asio::awaitable<Result<void>> run(SubscriberSync sync);

  net::Endpoint ctrl_;
  std::chrono::milliseconds timeout_;
  std::unique_ptr<CtrlConnection> link_;
};

}  // namespace cardperso::ads::hlr
