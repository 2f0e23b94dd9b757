#include "cardperso/net/tcp_listener.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <exception>
#include <vector>

#include "cardperso/net/source_address.hpp"

namespace cardperso::net {
namespace {

using boost::system::error_code;

std::string describe(const tcp::endpoint& endpoint) {
  return Endpoint{endpoint.address().to_string(), endpoint.port()}.to_string();
}

// Errors after which accepting again at once would only spin (descriptor or memory exhaustion).
bool is_resource_exhaustion(const error_code& ec) {
  return ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space ||
         ec == asio::error::no_memory || ec == error_code(ENFILE, boost::system::system_category());
}

}  // namespace

TcpListener::TcpListener(asio::io_context& io, tcp::acceptor acceptor, ListenerOptions options,
                         ConnectionHandler handler)
    : io_(io),
      acceptor_(std::move(acceptor)),
      local_(acceptor_.local_endpoint()),
      options_(std::move(options)),
      handler_(std::move(handler)),
      idle_signal_(acceptor_.get_executor()) {}

Result<std::shared_ptr<TcpListener>> TcpListener::open(asio::io_context& io, const Endpoint& where,
                                                       ListenerOptions options, ConnectionHandler handler) {
  if (!handler) throw std::invalid_argument("TcpListener::open: no connection handler");
  if (options.max_connections == 0) return fail("max_connections is 0; the listener could serve nobody");
  if (options.refusal_log_interval.count() <= 0) return fail("refusal_log_interval must be positive");
  error_code ec;
  tcp::resolver resolver(io);
  const auto results = resolver.resolve(where.host, std::to_string(where.port), tcp::resolver::passive, ec);
  if (ec || results.empty())
    return fail("cannot resolve listen address " + where.to_string() + ": " + ec.message());
  const tcp::endpoint endpoint = results.begin()->endpoint();
  tcp::acceptor acceptor(asio::make_strand(io));
  const auto step = [&](const char* what) {
    return fail("cannot listen on " + where.to_string() + ": " + what + " failed: " + ec.message() +
                (ec == asio::error::address_in_use ? "; another process holds the port, pick another" : ""));
  };
  if (acceptor.open(endpoint.protocol(), ec); ec) return step("open");
  if (acceptor.set_option(tcp::acceptor::reuse_address(true), ec); ec) return step("SO_REUSEADDR");
  if (acceptor.bind(endpoint, ec); ec) return step("bind");
  if (acceptor.listen(asio::socket_base::max_listen_connections, ec); ec) return step("listen");
  auto listener = std::make_shared<TcpListener>(io, std::move(acceptor), std::move(options), std::move(handler));
  if (listener->options_.max_connections_per_source > 0)
    spdlog::info("listening on {} (at most {} connections, {} per source address)", describe(listener->local_),
                 listener->options_.max_connections, listener->options_.max_connections_per_source);
  else
    spdlog::info("listening on {} (at most {} connections)", describe(listener->local_),
                 listener->options_.max_connections);
  return listener;
}

void TcpListener::start() { asio::co_spawn(acceptor_.get_executor(), accept_loop(shared_from_this()), asio::detached); }

void TcpListener::stop(std::chrono::milliseconds grace, std::function<void()> on_stopped) {
  asio::co_spawn(acceptor_.get_executor(), drain(shared_from_this(), grace, std::move(on_stopped)), asio::detached);
}

asio::awaitable<void> TcpListener::accept_loop(std::shared_ptr<TcpListener> self) {
  asio::steady_timer pause(self->acceptor_.get_executor());
  while (!self->stopping_) {
    tcp::socket socket(asio::make_strand(self->io_));
    error_code ec;
    co_await self->acceptor_.async_accept(socket, asio::redirect_error(asio::use_awaitable, ec));
    if (self->stopping_ || ec == asio::error::operation_aborted) break;
    if (ec) {
      spdlog::warn("accept on {} failed: {}", describe(self->local_), ec.message());
      if (is_resource_exhaustion(ec)) {
        pause.expires_after(std::chrono::milliseconds(100));
        co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      }
      continue;
    }
    error_code peer_ec;
    const auto peer = socket.remote_endpoint(peer_ec);
    const std::string who = peer_ec ? std::string("unknown peer") : describe(peer);
    if (self->active_.load() >= self->options_.max_connections) {
      ++self->refused_;
      self->log_refusal(fmt::format("refusing connection from {}: {} connections already open (max {})", who,
                                    self->active_.load(), self->options_.max_connections));
      socket.close(peer_ec);
      continue;
    }
    const std::string source = peer_ec ? std::string() : source_key(peer.address());
    const std::size_t cap = self->options_.max_connections_per_source;
    bool over_cap = false;
    {
      std::lock_guard lock(self->sessions_mutex_);
      if (cap > 0 && !source.empty()) {
        auto& open_from_source = self->per_source_[source];
        if (open_from_source >= cap) over_cap = true;
        else ++open_from_source;
      }
    }
    if (over_cap) {
      ++self->refused_;
      ++self->refused_per_source_;
      self->log_refusal(fmt::format("refusing connection from {}: {} connections from {} already open (max {} per "
                                    "source address)", who, cap, source, cap));
      socket.close(peer_ec);
      continue;
    }
    ++self->active_;
    const std::uint64_t id = self->next_id_++;
    FramedStream stream(std::move(socket), self->options_.stream);
    {
      std::lock_guard lock(self->sessions_mutex_);
      self->sessions_.emplace(id, stream);
      if (cap > 0 && !source.empty()) self->session_source_.emplace(id, source);
    }
    // debug, like the end line: at info a flood would write two lines per connection (the ADS logs
    // each DTD link once its hello is admitted).
    spdlog::debug("connection {} from {} ({} open)", id, who, self->active_.load());
    const auto executor = stream.get_executor();
    asio::co_spawn(executor, run_session(self, id, std::move(stream)), asio::detached);
  }
  spdlog::info("stopped accepting on {}", describe(self->local_));
}

asio::awaitable<void> TcpListener::run_session(std::shared_ptr<TcpListener> self, std::uint64_t id,
                                               FramedStream stream) {
  try {
    co_await self->handler_(stream);
  } catch (const std::exception& e) {
    spdlog::error("connection {} from {}: handler failed: {}", id, stream.peer(), e.what());
  }
  stream.close();
  spdlog::debug("connection {} from {} ended", id, stream.peer());
  self->session_ended(id);
}

void TcpListener::session_ended(std::uint64_t id) {
  {
    std::lock_guard lock(sessions_mutex_);
    sessions_.erase(id);
    if (auto it = session_source_.find(id); it != session_source_.end()) {
      if (auto count = per_source_.find(it->second); count != per_source_.end() && --count->second == 0)
        per_source_.erase(count);
      session_source_.erase(it);
    }
  }
  --active_;
  // idle_signal_ lives on the listener's strand; this runs on the session's.
  asio::post(acceptor_.get_executor(), [self = shared_from_this()] { self->idle_signal_.cancel(); });
}

void TcpListener::log_refusal(const std::string& what) {
  const auto now = std::chrono::steady_clock::now();
  const bool logged_before = last_refusal_log_ != std::chrono::steady_clock::time_point{};
  if (logged_before && now - last_refusal_log_ < options_.refusal_log_interval) {
    ++refusals_not_logged_;  // counted in the next line
    return;
  }
  if (refusals_not_logged_ > 0)
    spdlog::warn("{} ({} more refused since the previous line, not logged one by one)", what, refusals_not_logged_);
  else
    spdlog::warn("{}", what);
  last_refusal_log_ = now;
  refusals_not_logged_ = 0;
}

void TcpListener::close_all_sessions() {
  std::vector<FramedStream> open;
  {
    std::lock_guard lock(sessions_mutex_);
    for (auto& [id, stream] : sessions_) open.push_back(stream);
  }
  for (auto& stream : open) {
    const auto executor = stream.get_executor();
    asio::post(executor, [stream]() mutable { stream.close(); });
  }
}

asio::awaitable<void> TcpListener::drain(std::shared_ptr<TcpListener> self, std::chrono::milliseconds grace,
                                         std::function<void()> on_stopped) {
  if (self->draining_) {
    // A drain is already running; it will report to this caller too.
    if (on_stopped) self->waiting_for_stop_.push_back(std::move(on_stopped));
    co_return;
  }
  self->draining_ = true;
  if (on_stopped) self->waiting_for_stop_.push_back(std::move(on_stopped));
  if (!self->stopping_) {
    self->stopping_ = true;
    error_code ignored;
    self->acceptor_.close(ignored);
    spdlog::info("stopping listener on {}: {} sessions open, {} ms to finish", describe(self->local_),
                 self->active_.load(), grace.count());
  }
  // Wait for the sessions to end: first by themselves, then after closing their connections.
  for (int phase = 0; phase < 2 && self->active_.load() > 0; ++phase) {
    const auto deadline = asio::steady_timer::clock_type::now() + (phase == 0 ? grace : std::chrono::seconds(2));
    if (phase == 1) {
      spdlog::warn("closing {} sessions still open after the grace period", self->active_.load());
      self->close_all_sessions();
    }
    while (self->active_.load() > 0 && asio::steady_timer::clock_type::now() < deadline) {
      self->idle_signal_.expires_at(deadline);
      error_code ignored;
      co_await self->idle_signal_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    }
  }
  if (self->active_.load() > 0)
    spdlog::error("{} sessions did not end after their connections were closed", self->active_.load());
  self->draining_ = false;
  auto callbacks = std::move(self->waiting_for_stop_);
  self->waiting_for_stop_.clear();
  for (auto& callback : callbacks) callback();
}

}  // namespace cardperso::net
