#pragma once
// The echo server as a child process (this same program in `server` mode), so its CPU time and
// peak RSS are read from /proc exactly as the load generator reads the ads-server's.
#include <sys/types.h>

#include <chrono>

#include "cardperso/common/result.hpp"
#include "cardperso/net/endpoint.hpp"

namespace cardperso::bench {

class ServerProcess {
 public:
  // Starts `<this program> server --listen 127.0.0.1:0 --max-connections N` and waits (at most
  // `ready_timeout`) for the port it prints.
  static Result<ServerProcess> start(std::size_t max_connections, std::chrono::milliseconds ready_timeout);

  ServerProcess(ServerProcess&& other) noexcept;
  ServerProcess& operator=(ServerProcess&&) = delete;
  ServerProcess(const ServerProcess&) = delete;
  ~ServerProcess();

  pid_t pid() const { return pid_; }
  const net::Endpoint& endpoint() const { return endpoint_; }
  // SIGTERM, then SIGKILL if it has not exited within 5 s. Fails when it did not exit cleanly.
  Result<void> stop();

 private:
  ServerProcess(pid_t pid, net::Endpoint endpoint) : pid_(pid), endpoint_(std::move(endpoint)) {}
  pid_t pid_ = -1;
  net::Endpoint endpoint_;
};

}  // namespace cardperso::bench
