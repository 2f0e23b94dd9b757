#pragma once
// Helpers for driving coroutines in tests over real loopback sockets. Coroutines are named
// functions with by-value parameters (no capturing coroutine lambdas, see platform notes).
#include <gtest/gtest.h>

#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <utility>

#include "cardperso/net/asio.hpp"
#include "cardperso/net/framed_stream.hpp"
#include "cardperso/proto/frame.hpp"

namespace cardperso::net::test {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Runs `task` and stores what it returns; works for types without a default constructor.
template <class T>
asio::awaitable<void> store_result(asio::awaitable<T> task, std::shared_ptr<std::optional<T>> out) {
  out->emplace(co_await std::move(task));
}

// Spawns `task` on `executor`; rethrows its exception (if any) from run_until.
struct Spawned {
  std::shared_ptr<std::exception_ptr> error = std::make_shared<std::exception_ptr>();
  std::shared_ptr<bool> done = std::make_shared<bool>(false);
};

inline Spawned spawn(const asio::any_io_executor& executor, asio::awaitable<void> task) {
  Spawned s;
  asio::co_spawn(executor, std::move(task), [error = s.error, done = s.done](std::exception_ptr e) {
    *error = e;
    *done = true;
  });
  return s;
}

// Runs the io_context until `condition` holds or `limit` passes; false on timeout.
inline bool run_until(asio::io_context& io, const std::function<bool()>& condition,
                      std::chrono::milliseconds limit = 10s) {
  const auto deadline = Clock::now() + limit;
  io.restart();
  while (!condition()) {
    if (Clock::now() >= deadline) return false;
    io.run_one_for(10ms);
  }
  return true;
}

inline void run_to_completion(asio::io_context& io, const Spawned& s, std::chrono::milliseconds limit = 10s) {
  ASSERT_TRUE(run_until(io, [&] { return *s.done; }, limit)) << "coroutine did not finish in time";
  if (*s.error) std::rethrow_exception(*s.error);
}

// Runs `task` to completion on `io` and returns its value.
template <class T>
T run_task(asio::io_context& io, asio::awaitable<T> task, std::chrono::milliseconds limit = 10s) {
  auto out = std::make_shared<std::optional<T>>();
  auto s = spawn(io.get_executor(), store_result(std::move(task), out));
  const bool finished = run_until(io, [&] { return *s.done; }, limit);
  if (!finished) throw std::runtime_error("coroutine did not finish in time");
  if (*s.error) std::rethrow_exception(*s.error);
  return std::move(**out);
}

// A connected loopback TCP pair (accepted side first).
inline std::pair<tcp::socket, tcp::socket> tcp_pair(asio::io_context& io) {
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  tcp::socket client(io);
  client.connect(acceptor.local_endpoint());
  tcp::socket server(io);
  acceptor.accept(server);
  return {std::move(server), std::move(client)};
}

inline Bytes pattern(std::size_t size, std::uint8_t seed) {
  Bytes b(size);
  for (std::size_t i = 0; i < size; ++i) b[i] = static_cast<std::uint8_t>(seed + i * 7 + (i >> 8));
  return b;
}

inline proto::FrameHeader header(std::uint8_t type, std::uint32_t session = 7,
                                 proto::Channel channel = proto::Channel::SteAds) {
  proto::FrameHeader h;
  h.channel = channel;
  h.type = type;
  h.session = session;
  return h;
}

// A listener's handler: sends every frame back as it came, until the link fails.
inline asio::awaitable<void> echo_frames(FramedStream stream) {
  for (;;) {
    auto frame = co_await stream.read_frame(10s);
    if (!frame.ok()) co_return;
    auto sent = co_await stream.write_frame(frame->header, frame->payload);
    if (!sent.ok()) co_return;
  }
}

}  // namespace cardperso::net::test
