#pragma once
// Outgoing TCP connections: one attempt with a deadline, or attempts with backoff until one works
// (the DTD reaching the ADS, which may be down or restarting).
#include <chrono>
#include <cstddef>
#include <memory>

#include "cardperso/common/result.hpp"
#include "cardperso/net/asio.hpp"
#include "cardperso/net/backoff.hpp"
#include "cardperso/net/endpoint.hpp"
#include "cardperso/net/framed_stream.hpp"
#include "cardperso/net/stop_signal.hpp"

namespace cardperso::net {

struct ConnectOptions {
  std::chrono::milliseconds timeout{5'000};  // name resolution and TCP handshake together
  StreamOptions stream;
};

// One attempt, on the calling coroutine's executor (use a strand per connection).
asio::awaitable<Result<FramedStream>> connect_tcp(Endpoint to, ConnectOptions options);
// Default options. Not a default argument: GCC 12 destroys a coroutine's default-argument
// temporary twice (free(): invalid pointer), so the overload is a plain function.
asio::awaitable<Result<FramedStream>> connect_tcp(Endpoint to);

struct ReconnectOptions {
  ConnectOptions connect;
  BackoffOptions backoff;
  std::size_t max_attempts = 0;  // 0: until it works or `stop` is set
  // Requested (from any thread) to give up; it cuts a backoff sleep short.
  std::shared_ptr<StopSignal> stop;
};

asio::awaitable<Result<FramedStream>> connect_with_backoff(Endpoint to, ReconnectOptions options);

}  // namespace cardperso::net
