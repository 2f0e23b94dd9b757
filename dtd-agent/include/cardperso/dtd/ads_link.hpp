#pragma once
// The DTD's link to the ADS: TCP connect, then the hello of proto::DtdLinkCore (LinkHello on channel
// 0, the ADS's LinkHelloAck checked).
// connect_ads_link walks the addresses through an AdsFailover (the most preferred first, the next one
// at once after a failure, capped and jittered backoff after a whole round) and logs each outcome in
// the contract's words:
//   "connected to ADS at HOST:PORT"  /  "ADS unreachable at HOST:PORT: <reason>; retrying in N ms"
//   with several addresses, between two of a round: "ADS unreachable at X: <reason>; trying Y"
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cardperso/common/result.hpp"
#include "cardperso/dtd/ads_failover.hpp"
#include "cardperso/net/endpoint.hpp"
#include "cardperso/net/framed_stream.hpp"
#include "cardperso/net/stop_signal.hpp"

namespace cardperso::dtd {

struct AdsLinkOptions {
  net::Endpoint ads;                   // the (most preferred) address; open_ads_link dials this one
  std::vector<net::Endpoint> more_ads;  // --ads B,C...: further addresses, in order of preference
  // --ads-failback-s: how often a link on a less preferred address probes the more preferred ones;
  // 0: never.
  std::chrono::milliseconds failback_every{30'000};
  std::string dtd_id = "dtd";                       // LinkHello node id: printable ASCII, 1..64 characters
  std::chrono::milliseconds connect_timeout{5'000};
  std::chrono::milliseconds hello_timeout{10'000};  // for the LinkHelloAck
  std::chrono::milliseconds reconnect_initial{100};
  std::chrono::milliseconds reconnect_max{5'000};
};

// One attempt.
net::asio::awaitable<Result<net::FramedStream>> open_ads_link(AdsLinkOptions options);

// Every address of the options (ads, then more_ads) with their backoff and fail-back period.
AdsFailoverOptions failover_options(const AdsLinkOptions& options);

// Attempts until one works; fails only when stop is requested (which cuts a backoff sleep short).
// on_attempt, when set, hears how each attempt went (the metrics count attempts and failures).
// `failover` says where each attempt goes and hears how it went; it must outlive the call (the
// caller keeps it across links, for the fail-back and the counters).
net::asio::awaitable<Result<net::FramedStream>> connect_ads_link(AdsLinkOptions options, AdsFailover& failover,
                                                                 std::shared_ptr<net::StopSignal> stop,
                                                                 std::function<void(bool connected)> on_attempt = {});
// The same with a chooser of its own, for callers that keep no state across links.
net::asio::awaitable<Result<net::FramedStream>> connect_ads_link(AdsLinkOptions options,
                                                                 std::shared_ptr<net::StopSignal> stop,
                                                                 std::function<void(bool connected)> on_attempt = {});

}  // namespace cardperso::dtd
