#include "cardperso/net/tcp_connector.hpp"

#include <spdlog/spdlog.h>

namespace cardperso::net {
namespace {

using boost::system::error_code;

// Shared with the deadline handler, which may run after the connecting coroutine has moved on.
struct Attempt {
  explicit Attempt(const asio::any_io_executor& executor) : resolver(executor), socket(executor), deadline(executor) {}
  tcp::resolver resolver;
  tcp::socket socket;
  asio::steady_timer deadline;
  bool timed_out = false;
  bool finished = false;
};

}  // namespace

asio::awaitable<Result<FramedStream>> connect_tcp(Endpoint to, ConnectOptions options) {
  auto attempt = std::make_shared<Attempt>(co_await asio::this_coro::executor);
  attempt->deadline.expires_after(options.timeout);
  attempt->deadline.async_wait([weak = std::weak_ptr<Attempt>(attempt)](const error_code& ec) {
    if (ec) return;
    auto a = weak.lock();
    if (!a || a->finished) return;
    a->timed_out = true;
    a->resolver.cancel();
    error_code ignored;
    a->socket.close(ignored);
  });
  const std::string where = to.to_string();
  const auto timeout_text = std::to_string(options.timeout.count()) + " ms";

  error_code ec;
  const auto results = co_await attempt->resolver.async_resolve(to.host, std::to_string(to.port),
                                                                asio::redirect_error(asio::use_awaitable, ec));
  if (attempt->timed_out) co_return fail("cannot resolve " + where + " within " + timeout_text);
  if (ec || results.empty()) {
    attempt->finished = true;
    attempt->deadline.cancel();
    co_return fail("cannot resolve " + where + ": " + ec.message() + "; check the host name");
  }
  std::string last_error = "no address";
  for (const auto& entry : results) {
    error_code open_ec;
    if (attempt->socket.is_open()) attempt->socket.close(open_ec);
    co_await attempt->socket.async_connect(entry.endpoint(), asio::redirect_error(asio::use_awaitable, ec));
    if (attempt->timed_out) co_return fail("cannot connect to " + where + " within " + timeout_text);
    if (!ec) {
      attempt->finished = true;
      attempt->deadline.cancel();
      if (options.stream.peer.empty()) options.stream.peer = where;
      co_return FramedStream(std::move(attempt->socket), std::move(options.stream));
    }
    last_error = ec.message();
  }
  attempt->finished = true;
  attempt->deadline.cancel();
  co_return fail("cannot connect to " + where + ": " + last_error + "; is the server running?");
}

asio::awaitable<Result<FramedStream>> connect_tcp(Endpoint to) {
  ConnectOptions defaults;
  return connect_tcp(std::move(to), std::move(defaults));
}

asio::awaitable<Result<FramedStream>> connect_with_backoff(Endpoint to, ReconnectOptions options) {
  Backoff backoff(options.backoff);
  for (std::size_t attempt = 1;; ++attempt) {
    if (options.stop && options.stop->requested())
      co_return fail("gave up connecting to " + to.to_string() + ": stop requested");
    auto connected = co_await connect_tcp(to, options.connect);
    if (connected.ok()) {
      if (attempt > 1) spdlog::info("connected to {} after {} attempts", to.to_string(), attempt);
      co_return connected;
    }
    if (options.max_attempts != 0 && attempt >= options.max_attempts)
      co_return fail(connected.error().message + " (gave up after " + std::to_string(attempt) + " attempts)");
    const auto delay = backoff.next();
    spdlog::info("{} (attempt {}); retrying in {} ms", connected.error().message, attempt, delay.count());
    co_await sleep_unless_stopped(delay, options.stop);
  }
}

}  // namespace cardperso::net
