#include "cardperso/dtd/ads_link.hpp"

#include <spdlog/spdlog.h>

#include "cardperso/net/backoff.hpp"
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

asio::awaitable<Result<net::FramedStream>> connect_ads_link(AdsLinkOptions options,
                                                            std::shared_ptr<net::StopSignal> stop,
                                                            std::function<void(bool connected)> on_attempt) {
  net::BackoffOptions backoff_options;
  backoff_options.initial = std::min(options.reconnect_initial, options.reconnect_max);
  backoff_options.maximum = options.reconnect_max;
  net::Backoff backoff(backoff_options);
  const std::string where = options.ads.to_string();
  while (!stop->requested()) {
    auto link = co_await open_ads_link(options);
    if (on_attempt) on_attempt(link.ok());
    if (link) {
      spdlog::info("connected to ADS at {}", where);
      co_return link;
    }
    const auto delay = backoff.next();
    spdlog::warn("ADS unreachable at {}: {}; retrying in {} ms", where, link.error().message, delay.count());
    co_await net::sleep_unless_stopped(delay, stop);
  }
  co_return fail("stopped before the ADS at " + where + " could be reached");
}

}  // namespace cardperso::dtd
