#pragma once
// Accepts TCP connections and runs one handler coroutine per connection, each on its own strand,
// up to a maximum number at once. Connections beyond the maximum are closed at once (and logged):
// a burst of clients must not exhaust descriptors or memory of the ADS. An optional cap per source
// (source_address.hpp) keeps one client address from taking every slot; refusals are logged at most
// once per refusal_log_interval, with a count, so a flood cannot fill the disk.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "cardperso/common/result.hpp"
#include "cardperso/net/asio.hpp"
#include "cardperso/net/endpoint.hpp"
#include "cardperso/net/framed_stream.hpp"

namespace cardperso::net {

// The per-connection handler. Pass a named coroutine function, or a non-coroutine lambda that
// forwards its captures as by-value parameters to a named coroutine:
//   [state](FramedStream s) { return serve_client(state, std::move(s)); }
// Never a capturing lambda that is itself a coroutine (GCC 12 + Boost 1.74 double free).
// The connection is closed when the handler returns or throws.
using ConnectionHandler = std::function<asio::awaitable<void>(FramedStream)>;

struct ListenerOptions {
  std::size_t max_connections = 64;
  StreamOptions stream;  // applied to every accepted connection
  std::size_t max_connections_per_source = 0;  // 0: no cap per source address
  std::chrono::milliseconds refusal_log_interval{5'000};
};

class TcpListener : public std::enable_shared_from_this<TcpListener> {
 public:
  // Binds and listens (synchronously, at start-up); errors name the address and the cause.
  static Result<std::shared_ptr<TcpListener>> open(asio::io_context& io, const Endpoint& where,
                                                   ListenerOptions options, ConnectionHandler handler);

  // Starts the accept loop on the listener's strand.
  void start();
  // Graceful stop, callable from any thread: stop accepting, give running sessions `grace` to end,
  // then close the ones still open, and call on_stopped (on the listener's strand) once all ended.
  void stop(std::chrono::milliseconds grace, std::function<void()> on_stopped = {});

  tcp::endpoint local_endpoint() const { return local_; }
  std::size_t active_connections() const { return active_.load(); }
  std::uint64_t refused_connections() const { return refused_.load(); }
  // Of refused_connections(), those refused for the per-source cap.
  std::uint64_t refused_per_source() const { return refused_per_source_.load(); }

  // Public for make_shared only; use open().
  TcpListener(asio::io_context& io, tcp::acceptor acceptor, ListenerOptions options, ConnectionHandler handler);

 private:
  static asio::awaitable<void> accept_loop(std::shared_ptr<TcpListener> self);
  static asio::awaitable<void> run_session(std::shared_ptr<TcpListener> self, std::uint64_t id,
                                           FramedStream stream);
  static asio::awaitable<void> drain(std::shared_ptr<TcpListener> self, std::chrono::milliseconds grace,
                                     std::function<void()> on_stopped);
  void session_ended(std::uint64_t id);
  void close_all_sessions();
  // Listener strand only: one warn line per refusal_log_interval, counting the refusals in between.
  void log_refusal(const std::string& what);

  asio::io_context& io_;
  tcp::acceptor acceptor_;  // on its own strand
  tcp::endpoint local_;
  ListenerOptions options_;
  ConnectionHandler handler_;
  asio::steady_timer idle_signal_;  // cancelled whenever a session ends, to wake drain()
  std::atomic<std::size_t> active_{0};
  std::atomic<std::uint64_t> refused_{0};
  std::atomic<std::uint64_t> refused_per_source_{0};
  std::chrono::steady_clock::time_point last_refusal_log_{};
  std::uint64_t refusals_not_logged_ = 0;
  bool stopping_ = false;  // listener strand only, like the two below
  bool draining_ = false;
  std::vector<std::function<void()>> waiting_for_stop_;
  std::uint64_t next_id_ = 1;
  std::mutex sessions_mutex_;  // sessions live on other strands
  std::map<std::uint64_t, FramedStream> sessions_;
  // Open connections per source (entries only while non-zero, so at most max_connections of them)
  // and the source of each session; under sessions_mutex_.
  std::unordered_map<std::string, std::size_t> per_source_;
  std::map<std::uint64_t, std::string> session_source_;
};

}  // namespace cardperso::net
