#pragma once
// SIGINT/SIGTERM -> graceful stop. The first signal calls on_stop (stop accepting, let sessions
// end); a second one stops the io_context at once for an operator who does not want to wait.
#include <functional>
#include <memory>

#include "cardperso/net/asio.hpp"

namespace cardperso::net {

class ShutdownSignals {
 public:
  ShutdownSignals(asio::io_context& io, std::function<void(int signal)> on_stop);
  ~ShutdownSignals();
  ShutdownSignals(const ShutdownSignals&) = delete;
  ShutdownSignals& operator=(const ShutdownSignals&) = delete;

  // Stops listening for signals (lets io_context::run return once other work is done).
  void cancel();

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace cardperso::net
