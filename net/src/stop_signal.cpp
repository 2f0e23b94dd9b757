#include "cardperso/net/stop_signal.hpp"

#include <vector>

namespace cardperso::net {

StopSignal::Subscription& StopSignal::Subscription::operator=(Subscription&& other) noexcept {
  if (this != &other) {
    reset();
    signal_ = other.signal_;
    id_ = other.id_;
    other.signal_ = nullptr;
  }
  return *this;
}

void StopSignal::Subscription::reset() {
  if (signal_ != nullptr) signal_->unsubscribe(id_);
  signal_ = nullptr;
}

void StopSignal::request() {
  std::vector<std::function<void()>> actions;
  {
    std::lock_guard lock(mutex_);
    if (requested_.exchange(true)) return;
    for (auto& [id, action] : actions_) actions.push_back(action);
  }
  for (const auto& action : actions) action();
}

StopSignal::Subscription StopSignal::subscribe(std::function<void()> on_stop) {
  {
    std::lock_guard lock(mutex_);
    if (!requested_.load()) {
      const auto id = next_id_++;
      actions_.emplace(id, std::move(on_stop));
      return Subscription(this, id);
    }
  }
  on_stop();
  return {};
}

void StopSignal::unsubscribe(std::uint64_t id) {
  std::lock_guard lock(mutex_);
  actions_.erase(id);
}

asio::awaitable<void> sleep_unless_stopped(std::chrono::milliseconds delay, std::shared_ptr<StopSignal> stop) {
  auto timer = std::make_shared<asio::steady_timer>(co_await asio::this_coro::executor, delay);
  StopSignal::Subscription subscription;
  if (stop)
    subscription = stop->subscribe([timer] { asio::post(timer->get_executor(), [timer] { timer->cancel(); }); });
  if (stop && stop->requested()) co_return;
  boost::system::error_code ignored;
  co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ignored));
}

}  // namespace cardperso::net
