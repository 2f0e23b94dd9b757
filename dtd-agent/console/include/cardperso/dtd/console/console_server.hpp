#pragma once
// The console's Boost.Beast adapter: one listener, one coroutine per HTTP connection (routes from
// console_routes), and WebSocket sessions that get the model's state on connect and after every change
// and hand the pages' messages to the model. Runs on the agent's io_context (one thread: no locks).
//
// Bounds: request header <= 8 KiB and no body, 30 s for a request to arrive (also the keep-alive idle
// time), at most 32 HTTP connections and 8 WebSockets at once, WebSocket messages <= 16 KiB, a page
// that does not answer pings within 30 s is dropped, and so is one that lets 16 messages pile up
// unsent (a slow client is dropped rather than buffered without bound).
#include <cstddef>
#include <list>
#include <memory>
#include <string>

#include "cardperso/common/result.hpp"
#include "cardperso/dtd/console/console_access.hpp"
#include "cardperso/dtd/console/console_model.hpp"
#include "cardperso/net/asio.hpp"
#include "cardperso/net/endpoint.hpp"

namespace cardperso::dtd::console {

class ConsoleServer : public std::enable_shared_from_this<ConsoleServer> {
 public:
  struct Client;

  // Binds `where` (port 0: a free port). The model must outlive the server.
  static Result<std::shared_ptr<ConsoleServer>> open(const net::asio::any_io_executor& executor,
                                                     const net::Endpoint& where, std::string token,
                                                     ConsoleModel& model);
  ConsoleServer(net::tcp::acceptor acceptor, AccessConfig access, ConsoleModel& model);

  // Accepts until close(); the model's changes go to every page from now on.
  void start();
  // Stops accepting and closes every connection.
  void close();
  // The address bound, as a browser writes it ("127.0.0.1:7702").
  const std::string& host_port() const { return access_.host_port; }
  // For the one line the agent prints on standard output; never logged.
  const std::string& token() const { return access_.token; }
  // Sends the model's state to every page.
  void broadcast();

  std::size_t websocket_clients() const { return clients_.size(); }

 private:
  static net::asio::awaitable<void> accept_loop(std::shared_ptr<ConsoleServer> self);
  static net::asio::awaitable<void> serve_http(std::shared_ptr<ConsoleServer> self, net::tcp::socket socket);
  static net::asio::awaitable<void> write_loop(std::shared_ptr<ConsoleServer> self, std::shared_ptr<Client> client);
  void send(const std::shared_ptr<Client>& client, std::string message);
  void drop(const std::shared_ptr<Client>& client);

  net::tcp::acceptor acceptor_;
  AccessConfig access_;
  ConsoleModel& model_;
  std::list<std::shared_ptr<Client>> clients_;
  std::size_t http_connections_ = 0;
  bool closed_ = false;
};

}  // namespace cardperso::dtd::console
