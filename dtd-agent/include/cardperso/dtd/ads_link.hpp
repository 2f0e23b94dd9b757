#pragma once
// The DTD's link to the ADS: TCP connect, then the hello of proto::DtdLinkCore (LinkHello on channel
// 0, the ADS's LinkHelloAck checked).
// connect_ads_link retries with capped, jittered backoff and logs each outcome in the contract's words:
//   "connected to ADS at HOST:PORT"  /  "ADS unreachable at HOST:PORT: <reason>; retrying in N ms"
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "cardperso/common/result.hpp"
#include "cardperso/net/endpoint.hpp"
#include "cardperso/net/framed_stream.hpp"
#include "cardperso/net/stop_signal.hpp"

namespace cardperso::dtd {

struct AdsLinkOptions {
  net::Endpoint ads;
  std::string dtd_id = "dtd";                       // LinkHello node id: printable ASCII, 1..64 characters
  std::chrono::milliseconds connect_timeout{5'000};
  std::chrono::milliseconds hello_timeout{10'000};  // for the LinkHelloAck
  std::chrono::milliseconds reconnect_initial{100};
  std::chrono::milliseconds reconnect_max{5'000};
};

// One attempt.
net::asio::awaitable<Result<net::FramedStream>> open_ads_link(AdsLinkOptions options);

// Attempts until one works; fails only when stop is requested (which cuts a backoff sleep short).
// on_attempt, when set, hears how each attempt went (the metrics count attempts and failures).
net::asio::awaitable<Result<net::FramedStream>> connect_ads_link(AdsLinkOptions options,
                                                                 std::shared_ptr<net::StopSignal> stop,
                                                                 std::function<void(bool connected)> on_attempt = {});

}  // namespace cardperso::dtd
