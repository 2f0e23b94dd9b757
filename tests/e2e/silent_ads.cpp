#include "silent_ads.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <stdexcept>

#include "cardperso/common/bytes.hpp"

namespace cardperso::e2e {

namespace {

// LinkHelloAck(version 1) on channel 0, session 0 (proto/PROTOCOL.md §2, §5).
const Bytes kLinkHelloAck = hex("4350" "01" "00" "02" "00" "0000" "00000000" "00000001" "01");

}  // namespace

SilentAds::SilentAds() {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0 || ::pipe2(wake_fd_, O_CLOEXEC) != 0) throw std::runtime_error("silent ADS: socket/pipe failed");
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listen_fd_, 8) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    throw std::runtime_error("silent ADS: cannot listen on 127.0.0.1");
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { run(); });
}

SilentAds::~SilentAds() {
  char b = 1;
  ssize_t n = ::write(wake_fd_[1], &b, 1);
  (void)n;
  if (thread_.joinable()) thread_.join();
  ::close(listen_fd_);
  ::close(wake_fd_[0]);
  ::close(wake_fd_[1]);
}

bool SilentAds::wait_for_frame(std::uint8_t channel, std::uint8_t type, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return cv_.wait_for(lock, timeout, [&] {
    return std::find(received_.begin(), received_.end(), std::make_pair(channel, type)) != received_.end();
  });
}

void SilentAds::run() {
  struct Peer {
    int fd;
    Bytes buffer;
  };
  std::vector<Peer> peers;
  for (;;) {
    std::vector<pollfd> fds{{wake_fd_[0], POLLIN, 0}, {listen_fd_, POLLIN, 0}};
    for (const auto& p : peers) fds.push_back({p.fd, POLLIN, 0});
    if (::poll(fds.data(), fds.size(), 500) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[0].revents != 0) break;
    for (std::size_t i = 0; i < peers.size();) {
      if (fds[i + 2].revents == 0) {
        ++i;
        continue;
      }
      std::uint8_t chunk[4096];
      ssize_t n = ::recv(peers[i].fd, chunk, sizeof chunk, 0);
      if (n <= 0) {
        ::close(peers[i].fd);
        peers.erase(peers.begin() + static_cast<std::ptrdiff_t>(i));
        fds.erase(fds.begin() + static_cast<std::ptrdiff_t>(i + 2));
        continue;
      }
      Bytes& buf = peers[i].buffer;
      buf.insert(buf.end(), chunk, chunk + n);
      while (buf.size() >= 16 && buf.size() >= 16 + get_u32(buf, 12)) {
        const std::uint8_t channel = buf[3];
        const std::uint8_t type = buf[4];
        buf.erase(buf.begin(), buf.begin() + 16 + static_cast<std::ptrdiff_t>(get_u32(buf, 12)));
        if (channel == 0 && type == 0x01)
          (void)::send(peers[i].fd, kLinkHelloAck.data(), kLinkHelloAck.size(), MSG_NOSIGNAL);
        std::lock_guard lock(mutex_);
        received_.emplace_back(channel, type);
        cv_.notify_all();
      }
      ++i;
    }
    if (fds[1].revents & POLLIN) {
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd >= 0) peers.push_back({fd, {}});
    }
  }
  for (auto& p : peers) ::close(p.fd);
}

}  // namespace cardperso::e2e
