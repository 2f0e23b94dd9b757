#pragma once
// Plain blocking TCP on 127.0.0.1 for the test peers and proxies (file descriptors, poll()).
#include <cstddef>
#include <cstdint>

namespace cardperso::testing {

struct Listener {
  int fd = -1;
  int port = 0;
};

// Listens on 127.0.0.1 at a free port; throws std::runtime_error (`who` names the caller) on failure.
Listener listen_loopback(const char* who, int backlog = 8);
// Connects to 127.0.0.1:port; -1 when nobody listens.
int connect_loopback(int port);
// Connects from the loopback address `from` (host order, e.g. 0x7f000002 = 127.0.0.2) to
// 127.0.0.1:port, giving up after timeout_ms; the socket is left non-blocking. -1 on failure.
int connect_loopback_from(std::uint32_t from, int port, int timeout_ms);
// Sends every byte (no SIGPIPE); false when the peer has gone.
bool send_all(int fd, const std::uint8_t* data, std::size_t size);

// A self-pipe that wakes a poll() loop when its owner shuts it down.
class WakePipe {
 public:
  WakePipe();
  WakePipe(WakePipe&&) = delete;  // and so no copies: the loop polls these very fds
  ~WakePipe();
  int read_end() const { return fds_[0]; }
  void wake();

 private:
  int fds_[2] = {-1, -1};
};

}  // namespace cardperso::testing
