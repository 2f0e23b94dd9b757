#include "cardperso/dtd/ads_link.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "cardperso/net/tcp_connector.hpp"
#include "cardperso/proto/dtd_link_core.hpp"

namespace cardperso::dtd {

namespace asio = net::asio;

asio::awaitable<Result<net::FramedStream>> open_ads_link(AdsLinkOptions options) {
  net::ConnectOptions connect;
  connect.timeout = options.connect_timeout;
  auto connected = co_await net::connect_tcp(options.ads, connect);
  if (!connected) co_return connected.error();
  net::FramedStream stream = std::move(connected).value();
  const auto frame = proto::make_link_hello(options.dtd_id);
  auto sent = co_await stream.write_frame(frame.header, frame.payload);
  if (!sent) {
    stream.close();
    co_return sent.error();
  }
  auto answer = co_await stream.read_frame(options.hello_timeout);
  if (!answer) {
    stream.close();
    co_return fail("no answer to LinkHello: " + answer.error().message);
  }
  if (auto ack = proto::check_link_hello_answer(*answer); !ack) {
    stream.close();
    co_return ack.error();
  }
  co_return stream;
}

AdsFailoverOptions failover_options(const AdsLinkOptions& options) {
  AdsFailoverOptions out;
  out.addresses.push_back(options.ads);
  out.addresses.insert(out.addresses.end(), options.more_ads.begin(), options.more_ads.end());
  out.backoff.initial = std::min(options.reconnect_initial, options.reconnect_max);
  out.backoff.maximum = options.reconnect_max;
  out.failback_every = options.failback_every;
  return out;
}

asio::awaitable<Result<net::FramedStream>> connect_ads_link(AdsLinkOptions options, AdsFailover& failover,
                                                            std::shared_ptr<net::StopSignal> stop,
                                                            std::function<void(bool connected)> on_attempt) {
  while (!stop->requested()) {
    AdsLinkOptions attempt = options;
    attempt.ads = failover.address(failover.next());
    const std::string where = attempt.ads.to_string();
    auto link = co_await open_ads_link(attempt);
    if (on_attempt) on_attempt(link.ok());
    if (link) {
      failover.connected(AdsFailover::Clock::now());
      spdlog::info("connected to ADS at {}", where);
      co_return link;
    }
    const auto after = failover.attempt_failed();
    if (!after.wait) {
      spdlog::warn("ADS unreachable at {}: {}; trying {}", where, link.error().message,
                   failover.address(failover.next()).to_string());
      continue;
    }
    spdlog::warn("ADS unreachable at {}: {}; retrying in {} ms", where, link.error().message, after.wait->count());
    co_await net::sleep_unless_stopped(*after.wait, stop);
  }
  co_return fail("stopped before the ADS at " + options.ads.to_string() + " could be reached");
}

asio::awaitable<Result<net::FramedStream>> connect_ads_link(AdsLinkOptions options,
                                                            std::shared_ptr<net::StopSignal> stop,
                                                            std::function<void(bool connected)> on_attempt) {
  AdsFailover failover(failover_options(options));
  co_return co_await connect_ads_link(std::move(options), failover, std::move(stop), std::move(on_attempt));
}

}  // namespace cardperso::dtd
