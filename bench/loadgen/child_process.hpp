#pragma once
// The programs the load generator runs: adsctl to set up the database (run to completion, output
// captured), ads-server and the echo benchmark (started, read from, stopped). posix_spawn, no shell.
#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "cardperso/common/result.hpp"
#include "cardperso/net/endpoint.hpp"

namespace cardperso::bench {

// Runs argv[0] with argv, collects stdout and stderr together, waits for it. Fails (with the
// output) when it cannot start, exceeds `timeout` (then it is killed) or exits other than 0.
Result<std::string> run_program(const std::vector<std::string>& argv, std::chrono::milliseconds timeout);

// A server child that prints "listening on HOST:PORT" as its first line on stdout. Its stderr is
// inherited, so its warnings reach the operator.
class ListeningChild {
 public:
  static Result<ListeningChild> start(const std::vector<std::string>& argv, std::chrono::milliseconds ready_timeout);

  ListeningChild(ListeningChild&& other) noexcept;
  ListeningChild& operator=(ListeningChild&&) = delete;
  ListeningChild(const ListeningChild&) = delete;
  ~ListeningChild();

  pid_t pid() const { return pid_; }
  const net::Endpoint& endpoint() const { return endpoint_; }
  // SIGTERM, then SIGKILL after 10 s. Fails when it did not exit with status 0.
  Result<void> stop();

 private:
  ListeningChild(pid_t pid, std::string name) : pid_(pid), name_(std::move(name)) {}
  pid_t pid_ = -1;
  std::string name_;
  net::Endpoint endpoint_;
};

}  // namespace cardperso::bench
