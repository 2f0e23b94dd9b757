#include "cardperso/net/shutdown_signals.hpp"

#include <spdlog/spdlog.h>

#include <csignal>

namespace cardperso::net {

struct ShutdownSignals::State : std::enable_shared_from_this<ShutdownSignals::State> {
  State(asio::io_context& io_context, std::function<void(int)> callback)
      : io(io_context), signals(io_context, SIGINT, SIGTERM), on_stop(std::move(callback)) {}

  void wait() {
    signals.async_wait([weak = weak_from_this()](const boost::system::error_code& ec, int signal) {
      if (ec) return;  // cancelled: the owner is gone or no longer wants signals
      auto self = weak.lock();
      if (!self) return;
      self->received(signal);
    });
  }

  void received(int signal) {
    const char* name = signal == SIGINT ? "SIGINT" : signal == SIGTERM ? "SIGTERM" : "signal";
    if (++count == 1) {
      spdlog::info("{} received: shutting down gracefully (send it again to stop at once)", name);
      wait();
      if (on_stop) on_stop(signal);
    } else {
      spdlog::warn("{} received again: stopping now", name);
      io.stop();
    }
  }

  asio::io_context& io;
  asio::signal_set signals;
  std::function<void(int)> on_stop;
  int count = 0;
};

ShutdownSignals::ShutdownSignals(asio::io_context& io, std::function<void(int)> on_stop)
    : state_(std::make_shared<State>(io, std::move(on_stop))) {
  state_->wait();
}

ShutdownSignals::~ShutdownSignals() { cancel(); }

void ShutdownSignals::cancel() {
  boost::system::error_code ignored;
  state_->signals.cancel(ignored);
}

}  // namespace cardperso::net
