#include "cardperso/dtd/ads_link.hpp"

#include <spdlog/spdlog.h>

#include "cardperso/net/backoff.hpp"
#include "cardperso/net/tcp_connector.hpp"
#include "cardperso/proto/link.hpp"
#include "cardperso/proto/messages.hpp"

namespace cardperso::dtd {

namespace asio = net::asio;
using proto::Channel;
using proto::MessageType;

namespace {

// Sleeps in slices so a stop request is noticed quickly.
asio::awaitable<void> sleep_unless_stopped(std::chrono::milliseconds delay, std::shared_ptr<std::atomic<bool>> stop) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  const auto until = asio::steady_timer::clock_type::now() + delay;
  while (asio::steady_timer::clock_type::now() < until && !stop->load()) {
    timer.expires_after(std::min<asio::steady_timer::duration>(std::chrono::milliseconds(50),
                                                               until - asio::steady_timer::clock_type::now()));
    boost::system::error_code ignored;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  }
}

}  // namespace

asio::awaitable<Result<net::FramedStream>> open_ads_link(AdsLinkOptions options) {
  net::ConnectOptions connect;
  connect.timeout = options.connect_timeout;
  auto connected = co_await net::connect_tcp(options.ads, connect);
  if (!connected) co_return connected.error();
  net::FramedStream stream = std::move(connected).value();
  proto::LinkHello hello;
  hello.min_version = proto::kMinSupportedVersion;
  hello.max_version = proto::kMaxSupportedVersion;
  hello.node_id = options.dtd_id;
  const auto frame = proto::make_frame(Channel::LinkControl, 0, hello);
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
  const auto type = proto::to_message_type(answer->header.type);
  if (answer->header.channel == Channel::LinkControl && type == MessageType::Error) {
    stream.close();
    auto err = proto::ErrorMessage::decode(answer->payload);
    co_return fail("the ADS refused the link: " +
                   (err ? err->text + " (" + std::string(proto::describe(err->code)) + ")" : err.error().message));
  }
  if (answer->header.channel != Channel::LinkControl || type != MessageType::LinkHelloAck) {
    stream.close();
    co_return fail("the ADS answered LinkHello with something other than LinkHelloAck");
  }
  auto ack = proto::LinkHelloAck::decode(answer->payload);
  if (!ack) {
    stream.close();
    co_return fail("malformed LinkHelloAck: " + ack.error().message);
  }
  if (auto checked = proto::check_hello_ack(*ack); !checked) {
    stream.close();
    co_return checked.error();
  }
  co_return stream;
}

asio::awaitable<Result<net::FramedStream>> connect_ads_link(AdsLinkOptions options,
                                                            std::shared_ptr<std::atomic<bool>> stop) {
  net::BackoffOptions backoff_options;
  backoff_options.initial = std::min(options.reconnect_initial, options.reconnect_max);
  backoff_options.maximum = options.reconnect_max;
  net::Backoff backoff(backoff_options);
  const std::string where = options.ads.to_string();
  while (!stop->load()) {
    auto link = co_await open_ads_link(options);
    if (link) {
      spdlog::info("connected to ADS at {}", where);
      co_return link;
    }
    const auto delay = backoff.next();
    spdlog::warn("ADS unreachable at {}: {}; retrying in {} ms", where, link.error().message, delay.count());
    co_await sleep_unless_stopped(delay, stop);
  }
  co_return fail("stopped before the ADS at " + where + " could be reached");
}

}  // namespace cardperso::dtd
