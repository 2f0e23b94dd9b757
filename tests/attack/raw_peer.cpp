#include "raw_peer.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "cardperso/proto/frame.hpp"
#include "cardperso/testing/loopback.hpp"
#include "frame_edits.hpp"

namespace cardperso::attack {

using Clock = std::chrono::steady_clock;

Bytes link_hello_frame(const std::string& node_id) {
  constexpr std::uint8_t v = proto::kProtocolVersion;
  Bytes hello = {0x43, 0x50, v, 0x00, type::kLinkHello, 0, 0, 0, 0, 0, 0, 0};
  put_u32(hello, static_cast<std::uint32_t>(3 + node_id.size()));
  hello.insert(hello.end(), {v, v, static_cast<std::uint8_t>(node_id.size())});
  hello.insert(hello.end(), node_id.begin(), node_id.end());
  return hello;
}

RawPeer::RawPeer(int port) : fd_(testing::connect_loopback(port)) {}

RawPeer::RawPeer(int port, std::uint32_t from) : fd_(testing::connect_loopback_from(from, port, 5000)) {
  // connect_loopback_from leaves the socket non-blocking; this peer's sends block.
  if (fd_ >= 0) ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) & ~O_NONBLOCK);
}

RawPeer::~RawPeer() {
  if (fd_ >= 0) ::close(fd_);
}

bool RawPeer::send(ByteView bytes) {
  if (fd_ < 0 || closed_) return false;
  if (!testing::send_all(fd_, bytes.data(), bytes.size())) {
    closed_ = true;
    return false;
  }
  return true;
}

// Reads once what arrives within timeout; false on timeout or close.
bool RawPeer::fill(std::chrono::milliseconds timeout) {
  if (fd_ < 0 || closed_) return false;
  pollfd p{fd_, POLLIN, 0};
  const int ready = ::poll(&p, 1, static_cast<int>(timeout.count()));
  if (ready <= 0) return false;
  std::uint8_t buffer[4096];
  ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
  if (n < 0 && errno == EINTR) return true;
  if (n <= 0) {
    closed_ = true;
    return false;
  }
  pending_.insert(pending_.end(), buffer, buffer + n);
  return true;
}

std::optional<Bytes> RawPeer::read_frame(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    const auto whole = frames_(pending_);
    if (!whole) return std::nullopt;  // not a frame: the peer broke the protocol
    if (*whole > 0) {
      Bytes frame(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(*whole));
      pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(*whole));
      return frame;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0 || closed_) return std::nullopt;
    if (!fill(left) && closed_) return std::nullopt;
  }
}

bool RawPeer::wait_closed(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!closed_) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    fill(left);
  }
  return true;
}

}  // namespace cardperso::attack
