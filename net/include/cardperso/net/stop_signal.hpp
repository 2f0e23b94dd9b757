#pragma once
// The one shutdown mechanism of the three programs: a stop request that cancels whatever waits on
// it (a backoff sleep, a pending read, a connection's loop) instead of being polled for. Waiters
// subscribe a cancel action; request() runs each once. A subscription made after the request runs
// its action at once, so a stop is never missed between a check and a wait.
//
// request() may come from any thread; an action must then only post to its own executor (as
// sleep_unless_stopped does). Actions run outside the lock, so they may unsubscribe.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>

#include "cardperso/net/asio.hpp"

namespace cardperso::net {

class StopSignal {
 public:
  class Subscription {
   public:
    Subscription() = default;
    Subscription(StopSignal* signal, std::uint64_t id) : signal_(signal), id_(id) {}
    Subscription(Subscription&& other) noexcept : signal_(other.signal_), id_(other.id_) { other.signal_ = nullptr; }
    Subscription& operator=(Subscription&& other) noexcept;
    Subscription(const Subscription&) = delete;
    Subscription& operator=(const Subscription&) = delete;
    ~Subscription() { reset(); }
    void reset();

   private:
    StopSignal* signal_ = nullptr;
    std::uint64_t id_ = 0;
  };

  StopSignal() = default;
  StopSignal(const StopSignal&) = delete;
  StopSignal& operator=(const StopSignal&) = delete;

  // Idempotent: the actions run on the first request only.
  void request();
  bool requested() const { return requested_.load(); }
  // on_stop runs at request(), or now when the stop was already requested. Keep the subscription
  // alive while the action may run (the action's captures must outlive it).
  [[nodiscard]] Subscription subscribe(std::function<void()> on_stop);

 private:
  void unsubscribe(std::uint64_t id);

  std::atomic<bool> requested_{false};
  std::mutex mutex_;
  std::map<std::uint64_t, std::function<void()>> actions_;
  std::uint64_t next_id_ = 1;
};

// Sleeps for `delay` on the calling coroutine's executor, or until stop->request() (null: no stop).
asio::awaitable<void> sleep_unless_stopped(std::chrono::milliseconds delay, std::shared_ptr<StopSignal> stop);

}  // namespace cardperso::net
