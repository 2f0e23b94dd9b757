#pragma once
// A CTRL connection to the HLR over TCP: the thin Asio adapter around ctrl_codec and subscriber_sync.
// One request at a time, every reply awaited with a deadline; any transport problem closes the
// connection (the caller reconnects), so a late reply can never be taken for the next request's.
#include <chrono>
#include <memory>

#include "cardperso/ads/hlr/ctrl_codec.hpp"
#include "cardperso/ads/hlr/subscriber_sync.hpp"
#include "cardperso/common/result.hpp"
#include "cardperso/net/asio.hpp"
#include "cardperso/net/endpoint.hpp"

namespace cardperso::ads::hlr {

class CtrlConnection {
 public:
  // Errc::Unavailable when the HLR cannot be reached in time.
  static net::asio::awaitable<Result<std::unique_ptr<CtrlConnection>>> connect(net::Endpoint hlr,
                                                                              std::chrono::milliseconds timeout);
  ~CtrlConnection();
  CtrlConnection(const CtrlConnection&) = delete;
  CtrlConnection& operator=(const CtrlConnection&) = delete;

  // One request and its reply (TRAPs in between are skipped). Errc::Unavailable for a transport
  // failure or timeout (the connection is closed then).
  net::asio::awaitable<Result<CtrlReply>> request(CtrlVerb verb, std::string variable, CtrlText value,
                                                  std::chrono::milliseconds timeout);
  // Runs the sync to its end: done, refused by the HLR (Errc::Failed, the HLR's reason) or a transport
  // failure (Errc::Unavailable).
  net::asio::awaitable<Result<void>> run(SubscriberSync& sync, std::chrono::milliseconds timeout);

  bool open() const;
  const net::Endpoint& peer() const;

 private:
  struct Impl;
  explicit CtrlConnection(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace cardperso::ads::hlr
