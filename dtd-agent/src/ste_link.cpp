#include "cardperso/dtd/ste_link.hpp"

#include <spdlog/spdlog.h>

#include "cardperso/net/serial_link.hpp"

namespace cardperso::dtd {

namespace asio = net::asio;
using boost::system::error_code;

Result<std::shared_ptr<SteListener>> SteListener::open(const asio::any_io_executor& executor, const net::Endpoint& where) {
  error_code ec;
  net::tcp::resolver resolver(executor);
  const auto results = resolver.resolve(where.host, std::to_string(where.port), net::tcp::resolver::passive, ec);
  if (ec || results.empty()) return fail("cannot resolve the STE link address " + where.to_string() + ": " + ec.message());
  net::tcp::acceptor acceptor(executor);
  const auto endpoint = results.begin()->endpoint();
  const auto step = [&](const char* what) {
    return fail("cannot listen for the STE on " + where.to_string() + ": " + what + " failed: " + ec.message() +
                (ec == asio::error::address_in_use ? "; another process holds the port, pick another" : ""));
  };
  if (acceptor.open(endpoint.protocol(), ec); ec) return step("open");
  if (acceptor.set_option(net::tcp::acceptor::reuse_address(true), ec); ec) return step("SO_REUSEADDR");
  if (acceptor.bind(endpoint, ec); ec) return step("bind");
  if (acceptor.listen(asio::socket_base::max_listen_connections, ec); ec) return step("listen");
  return std::make_shared<SteListener>(std::move(acceptor));
}

net::Endpoint SteListener::local_endpoint() const {
  error_code ec;
  const auto local = acceptor_.local_endpoint(ec);
  return net::Endpoint{local.address().to_string(), local.port()};
}

void SteListener::start(std::shared_ptr<RelaySession> relay) {
  asio::co_spawn(acceptor_.get_executor(), accept_loop(shared_from_this(), std::move(relay)), asio::detached);
}

void SteListener::close() {
  closed_ = true;
  error_code ignored;
  acceptor_.close(ignored);
}

asio::awaitable<void> SteListener::accept_loop(std::shared_ptr<SteListener> self, std::shared_ptr<RelaySession> relay) {
  while (!self->closed_ && !relay->stopping()) {
    net::tcp::socket socket(self->acceptor_.get_executor());
    error_code ec;
    co_await self->acceptor_.async_accept(socket, asio::redirect_error(asio::use_awaitable, ec));
    if (self->closed_ || relay->stopping() || ec == asio::error::operation_aborted) break;
    if (ec) {
      spdlog::warn("accepting an STE link failed: {}", ec.message());
      // Do not spin on descriptor exhaustion.
      co_await net::sleep_unless_stopped(std::chrono::milliseconds(100), relay->stop_signal());
      continue;
    }
    asio::co_spawn(self->acceptor_.get_executor(), RelaySession::serve_ste(relay, net::FramedStream(std::move(socket))),
                   asio::detached);
  }
}

asio::awaitable<void> serve_ste_tty(std::string path, std::shared_ptr<RelaySession> relay) {
  bool reported = false;
  while (!relay->stopping()) {
    auto link = net::open_serial_link(relay->executor(), path);
    if (link) {
      reported = false;
      co_await RelaySession::serve_ste(relay, std::move(link).value());
    } else if (!reported) {
      spdlog::warn("{}; retrying every second", link.error().message);
      reported = true;
    }
    co_await net::sleep_unless_stopped(link ? std::chrono::milliseconds(200) : std::chrono::milliseconds(1000),
                                       relay->stop_signal());
  }
}

}  // namespace cardperso::dtd
