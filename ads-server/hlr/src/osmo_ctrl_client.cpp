#include "cardperso/ads/hlr/osmo_ctrl_client.hpp"

namespace cardperso::ads::hlr {

namespace asio = net::asio;

asio::awaitable<Result<void>> OsmoCtrlClient::provision(const SubscriberData& subscriber) {
  return run(SubscriberSync::provision(subscriber));
}

asio::awaitable<Result<void>> OsmoCtrlClient::remove(const std::string& imsi) {
  return run(SubscriberSync::remove(imsi));
}

asio::awaitable<Result<void>> OsmoCtrlClient::run(SubscriberSync sync) {
  if (!link_ || !link_->open()) {
    auto connected = co_await CtrlConnection::connect(ctrl_, timeout_);
    if (!connected) co_return connected.error();
    link_ = std::move(connected).value();
  }
  auto done = co_await link_->run(sync, timeout_);
  if (!done && done.error().code == Errc::Unavailable) link_.reset();
  co_return done;
}

}  // namespace cardperso::ads::hlr
