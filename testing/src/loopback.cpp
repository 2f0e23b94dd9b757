#include "cardperso/testing/loopback.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <string>

namespace cardperso::testing {

namespace {

sockaddr_in loopback_address(std::uint32_t host_order_ip, int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(host_order_ip);
  return addr;
}

}  // namespace

Listener listen_loopback(const char* who, int backlog) {
  Listener l;
  l.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (l.fd < 0) throw std::runtime_error(std::string(who) + ": socket failed");
  int one = 1;
  ::setsockopt(l.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr = loopback_address(INADDR_LOOPBACK, 0);
  socklen_t len = sizeof addr;
  if (::bind(l.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(l.fd, backlog) != 0 ||
      ::getsockname(l.fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(l.fd);
    throw std::runtime_error(std::string(who) + ": cannot listen on 127.0.0.1");
  }
  l.port = ntohs(addr.sin_port);
  return l;
}

int connect_loopback(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  const sockaddr_in addr = loopback_address(INADDR_LOOPBACK, port);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

int connect_loopback_from(std::uint32_t from, int port, int timeout_ms) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  const sockaddr_in source = loopback_address(from, 0);
  const sockaddr_in to = loopback_address(INADDR_LOOPBACK, port);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&source), sizeof source) != 0 ||
      (::connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to) != 0 && errno != EINPROGRESS)) {
    ::close(fd);
    return -1;
  }
  pollfd p{fd, POLLOUT, 0};
  int error = 0;
  socklen_t len = sizeof error;
  if (::poll(&p, 1, timeout_ms) != 1 || ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) != 0 || error != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool send_all(int fd, const std::uint8_t* data, std::size_t size) {
  while (size > 0) {
    ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

WakePipe::WakePipe() {
  if (::pipe2(fds_, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
}

WakePipe::~WakePipe() {
  ::close(fds_[0]);
  ::close(fds_[1]);
}

void WakePipe::wake() {
  char b = 1;
  ssize_t n = ::write(fds_[1], &b, 1);
  (void)n;
}

}  // namespace cardperso::testing
