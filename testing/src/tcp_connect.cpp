#include "cardperso/testing/tcp_connect.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace cardperso::testing {

Result<int> connect_tcp(const std::string& ip, int port, Millis timeout) {
  const std::string where = ip + ":" + std::to_string(port);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::inet_pton(AF_INET, ip.c_str(), &to.sin_addr) != 1)
    return fail(Errc::InvalidInput, "'" + ip + "' is not a dotted IPv4 address");
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return fail(std::string("socket: ") + std::strerror(errno));
  // Non-blocking only for the connect, so the wait is bounded; the caller gets a blocking socket.
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to) != 0 && errno != EINPROGRESS) {
    const int e = errno;
    ::close(fd);
    return fail(Errc::Unavailable, "cannot connect to " + where + ": " + std::strerror(e));
  }
  pollfd p{fd, POLLOUT, 0};
  int rc;
  do {
    rc = ::poll(&p, 1, static_cast<int>(timeout.count()));
  } while (rc < 0 && errno == EINTR);
  int error = 0;
  socklen_t len = sizeof error;
  if (rc == 0) {
    ::close(fd);
    return fail(Errc::Unavailable, "no answer from " + where + " within " + std::to_string(timeout.count()) + " ms");
  }
  if (rc < 0 || ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) != 0 || error != 0) {
    const int e = error != 0 ? error : errno;
    ::close(fd);
    return fail(Errc::Unavailable, "cannot connect to " + where + ": " + std::strerror(e));
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return fd;
}

}  // namespace cardperso::testing
