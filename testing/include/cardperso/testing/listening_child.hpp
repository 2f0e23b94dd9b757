#pragma once
// A server child that prints "listening on HOST:PORT" as its first stdout line (ads-server, the echo
// benchmark's server mode). Its stderr is inherited, so its warnings reach the operator; stdout is
// not read after that first line.
#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "cardperso/common/result.hpp"
#include "cardperso/net/endpoint.hpp"
#include "cardperso/testing/child_process.hpp"

namespace cardperso::testing {

class ListeningChild {
 public:
  // stop_grace: how long stop() waits after SIGTERM before SIGKILL.
  static Result<ListeningChild> start(const std::vector<std::string>& argv, Millis ready_timeout,
                                      Millis stop_grace = Millis(10000), std::string name = {});

  ListeningChild(ListeningChild&&) noexcept = default;
  ListeningChild& operator=(ListeningChild&&) = delete;
  ListeningChild(const ListeningChild&) = delete;
  ~ListeningChild();

  pid_t pid() const { return child_ ? child_->pid() : -1; }
  const net::Endpoint& endpoint() const { return endpoint_; }
  // SIGTERM, then SIGKILL after the grace. Fails when it did not exit with status 0.
  Result<void> stop();

 private:
  ListeningChild(std::unique_ptr<ChildProcess> child, Millis grace) : child_(std::move(child)), grace_(grace) {}
  std::unique_ptr<ChildProcess> child_;
  Millis grace_;
  net::Endpoint endpoint_;
};

}  // namespace cardperso::testing
