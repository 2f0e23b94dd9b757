#include "cardperso/dtd/console/console_server.hpp"

#include <spdlog/spdlog.h>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <deque>

#include "cardperso/dtd/console/console_routes.hpp"

namespace cardperso::dtd::console {

namespace asio = net::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using net::tcp;

namespace {

constexpr std::size_t kMaxHeader = 8 * 1024;
constexpr std::size_t kMaxMessage = 16 * 1024;
constexpr std::size_t kMaxClients = 8;
constexpr std::size_t kMaxHttpConnections = 32;
constexpr std::size_t kMaxOutbox = 16;
constexpr std::chrono::seconds kHttpIdle{30};
constexpr std::chrono::seconds kWebSocketIdle{30};

// Several Cookie headers are one list (RFC 6265 §5.4).
std::string joined(const http::request<http::empty_body>& req, http::field field) {
  std::string out;
  for (auto [it, end] = req.equal_range(field); it != end; ++it) {
    if (!out.empty()) out += "; ";
    out += std::string(it->value());
  }
  return out;
}

std::string single(const http::request<http::empty_body>& req, http::field field) {
  // Two Host or Origin headers are refused by comparing their concatenation with the expected value.
  std::string out;
  for (auto [it, end] = req.equal_range(field); it != end; ++it) {
    if (!out.empty()) out += ",";
    out += std::string(it->value());
  }
  return out;
}

}  // namespace

struct ConsoleServer::Client {
  explicit Client(beast::tcp_stream stream) : ws(std::move(stream)) {}
  websocket::stream<beast::tcp_stream> ws;
  std::deque<std::string> outbox;
  bool writing = false;
  bool gone = false;
};

Result<std::shared_ptr<ConsoleServer>> ConsoleServer::open(const asio::any_io_executor& executor,
                                                           const net::Endpoint& where, std::string token,
                                                           ConsoleModel& model) {
  boost::system::error_code ec;
  tcp::resolver resolver(executor);
  const auto results = resolver.resolve(where.host, std::to_string(where.port), tcp::resolver::passive, ec);
  if (ec || results.empty()) return fail("cannot resolve the console address " + where.to_string() + ": " + ec.message());
  const auto endpoint = results.begin()->endpoint();
  tcp::acceptor acceptor(executor);
  auto step = [&](const char* what) {
    return fail(std::string("console on ") + where.to_string() + ": " + what + " failed: " + ec.message());
  };
  if (acceptor.open(endpoint.protocol(), ec); ec) return step("open");
  if (acceptor.set_option(tcp::acceptor::reuse_address(true), ec); ec) return step("SO_REUSEADDR");
  if (acceptor.bind(endpoint, ec); ec) return step("bind");
  if (acceptor.listen(asio::socket_base::max_listen_connections, ec); ec) return step("listen");
  const auto local = acceptor.local_endpoint(ec);
  if (ec) return step("getsockname");
  // The Host header a browser sends for this address (the name given, the port bound).
  const std::string host_port = net::Endpoint{where.host, local.port()}.to_string();
  return std::make_shared<ConsoleServer>(std::move(acceptor), AccessConfig{std::move(token), host_port}, model);
}

ConsoleServer::ConsoleServer(tcp::acceptor acceptor, AccessConfig access, ConsoleModel& model)
    : acceptor_(std::move(acceptor)), access_(std::move(access)), model_(model) {}

void ConsoleServer::start() {
  asio::co_spawn(acceptor_.get_executor(), accept_loop(shared_from_this()), asio::detached);
}

void ConsoleServer::close() {
  closed_ = true;
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  for (const auto& c : clients_) {
    c->gone = true;
    beast::get_lowest_layer(c->ws).close();
  }
  clients_.clear();
}

void ConsoleServer::broadcast() {
  if (clients_.empty()) return;
  const std::string state = model_.state_json();
  // A copy: send may drop a client from the list.
  const auto clients = clients_;
  for (const auto& c : clients) send(c, state);
}

void ConsoleServer::send(const std::shared_ptr<Client>& client, std::string message) {
  if (client->gone) return;
  if (client->outbox.size() >= kMaxOutbox) {
    spdlog::warn("console: a page is not reading its updates; disconnecting it");
    drop(client);
    return;
  }
  client->outbox.push_back(std::move(message));
  if (!client->writing) {
    client->writing = true;
    asio::co_spawn(acceptor_.get_executor(), write_loop(shared_from_this(), client), asio::detached);
  }
}

void ConsoleServer::drop(const std::shared_ptr<Client>& client) {
  if (client->gone) return;
  client->gone = true;
  beast::get_lowest_layer(client->ws).close();  // ends its read and any write in progress
  clients_.remove(client);
}

asio::awaitable<void> ConsoleServer::write_loop(std::shared_ptr<ConsoleServer> self, std::shared_ptr<Client> client) {
  while (!client->gone && !client->outbox.empty()) {
    boost::system::error_code ec;
    client->ws.text(true);
    co_await client->ws.async_write(asio::buffer(client->outbox.front()),
                                    asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      self->drop(client);
      break;
    }
    if (!client->outbox.empty()) client->outbox.pop_front();
  }
  client->writing = false;
}

asio::awaitable<void> ConsoleServer::accept_loop(std::shared_ptr<ConsoleServer> self) {
  while (!self->closed_) {
    tcp::socket socket(self->acceptor_.get_executor());
    boost::system::error_code ec;
    co_await self->acceptor_.async_accept(socket, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (self->closed_ || ec == asio::error::operation_aborted) break;
      spdlog::warn("console: accept failed: {}", ec.message());
      continue;
    }
    if (self->http_connections_ >= kMaxHttpConnections) {
      socket.close(ec);
      continue;
    }
    asio::co_spawn(self->acceptor_.get_executor(), serve_http(self, std::move(socket)), asio::detached);
  }
}

asio::awaitable<void> ConsoleServer::serve_http(std::shared_ptr<ConsoleServer> self, tcp::socket socket) {
  ++self->http_connections_;
  struct Count {
    std::size_t& n;
    ~Count() { --n; }
  } count{self->http_connections_};
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer(kMaxHeader);
  for (;;) {
    if (self->closed_) co_return;
    http::request_parser<http::empty_body> parser;
    parser.header_limit(kMaxHeader);
    parser.body_limit(0);
    stream.expires_after(kHttpIdle);
    boost::system::error_code ec;
    co_await http::async_read(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;  // closed, timed out, a header too large or a body: the connection ends
    const auto& req = parser.get();
    const std::string method(req.method_string());
    const std::string host = single(req, http::field::host);
    const std::string origin = single(req, http::field::origin);
    const std::string cookie = joined(req, http::field::cookie);
    const bool upgrade = websocket::is_upgrade(req);
    // HEAD is answered as GET without the body, so its Content-Length is the GET's.
    const bool head = req.method() == http::verb::head;
    auto response = route(self->access_,
                          {.method = head ? std::string_view("GET") : std::string_view(method),
                           .target = std::string_view(req.target().data(), req.target().size()),
                           .host = host,
                           .cookie = cookie,
                           .origin = origin,
                           .websocket_upgrade = upgrade},
                          [&self](std::string_view id) { return self->model_.receipt(id); });
    if (response.upgrade && self->clients_.size() >= kMaxClients) {
      response.status = 503;
      response.upgrade = false;
      response.headers = security_headers();
      response.headers.emplace_back("Content-Type", "text/plain; charset=utf-8");
      response.body = "too many console pages are open; close one\n";
    }
    if (response.upgrade) {
      stream.expires_never();  // the WebSocket's own timeouts take over
      auto client = std::make_shared<Client>(std::move(stream));
      client->ws.set_option(websocket::stream_base::timeout{
          std::chrono::seconds(10), kWebSocketIdle, true});
      client->ws.read_message_max(kMaxMessage);
      auto headers = response.headers;
      client->ws.set_option(websocket::stream_base::decorator([headers](websocket::response_type& res) {
        for (const auto& [name, value] : headers) res.set(name, value);
      }));
      co_await client->ws.async_accept(req, asio::redirect_error(asio::use_awaitable, ec));
      if (ec || self->closed_) co_return;
      self->clients_.push_back(client);
      spdlog::info("console: a page connected ({} open)", self->clients_.size());
      self->send(client, self->model_.state_json());
      for (;;) {
        beast::flat_buffer message;
        co_await client->ws.async_read(message, asio::redirect_error(asio::use_awaitable, ec));
        if (ec || client->gone) break;
        std::optional<std::string> reply;
        if (client->ws.got_text())
          reply = self->model_.handle(beast::buffers_to_string(message.data()));
        else
          reply = self->model_.handle("");
        if (reply) self->send(client, std::move(*reply));
      }
      self->drop(client);
      spdlog::info("console: a page disconnected ({} open)", self->clients_.size());
      co_return;
    }
    http::response<http::string_body> res{static_cast<http::status>(response.status), req.version()};
    for (const auto& [name, value] : response.headers) res.set(name, value);
    const std::size_t length = response.body.size();
    if (!head) res.body() = std::move(response.body);
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    if (head) res.content_length(length);
    stream.expires_after(kHttpIdle);
    co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
    if (ec || !res.keep_alive()) break;
  }
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

}  // namespace cardperso::dtd::console
