#include "personalisation_vpcd_tap.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <optional>
#include <stdexcept>

namespace cardperso::e2e {

namespace {

constexpr std::uint8_t kInsRunGsm = 0x88;
constexpr std::uint8_t kInsGetResponse = 0xC0;

bool write_all(int fd, const std::uint8_t* data, std::size_t size) {
  while (size > 0) {
    ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

int connect_local(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

struct VpcdTap::Link {
  int card = -1;
  int vpcd = -1;
  int connection = 0;
  Bytes from_card, from_vpcd;                // partial messages
  std::optional<std::size_t> open_apdu;      // index into apdus_ awaiting its answer
  std::uint8_t previous_ins = 0;
};

VpcdTap::VpcdTap(int vpcd_port) : vpcd_port_(vpcd_port) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0 || ::pipe2(wake_fd_, O_CLOEXEC) != 0) throw std::runtime_error("vpcd tap: socket/pipe failed");
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listen_fd_, 4) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    throw std::runtime_error("vpcd tap: cannot listen on 127.0.0.1");
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { run(); });
}

VpcdTap::~VpcdTap() {
  stop_ = true;
  char b = 1;
  ssize_t n = ::write(wake_fd_[1], &b, 1);
  (void)n;
  if (thread_.joinable()) thread_.join();
  ::close(listen_fd_);
  ::close(wake_fd_[0]);
  ::close(wake_fd_[1]);
}

std::vector<TappedApdu> VpcdTap::apdus() const {
  std::lock_guard lock(mutex_);
  return apdus_;
}

// Forwards whole vpcd messages; false when a side closed.
bool VpcdTap::pump(Link& link, bool from_card) {
  std::uint8_t buffer[4096];
  const int from = from_card ? link.card : link.vpcd;
  const int to = from_card ? link.vpcd : link.card;
  ssize_t n = ::recv(from, buffer, sizeof buffer, 0);
  if (n < 0 && errno == EINTR) return true;
  if (n <= 0) return false;
  Bytes& pending = from_card ? link.from_card : link.from_vpcd;
  pending.insert(pending.end(), buffer, buffer + n);
  while (pending.size() >= 2) {
    const std::size_t length = get_u16(pending, 0);
    if (pending.size() < 2 + length) break;
    Bytes message(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(2 + length));
    pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(2 + length));
    if (!from_card && length > 1) {  // a command APDU (1 byte = power/reset/ATR control)
      std::lock_guard lock(mutex_);
      link.open_apdu = apdus_.size();
      apdus_.push_back({link.connection, Bytes(message.begin() + 2, message.end()), {}});
    } else if (from_card && link.open_apdu) {
      std::uint8_t ins = 0;
      {
        std::lock_guard lock(mutex_);
        auto& apdu = apdus_[*link.open_apdu];
        apdu.response.assign(message.begin() + 2, message.end());
        ins = apdu.command.size() > 1 ? apdu.command[1] : 0;
      }
      link.open_apdu.reset();
      // SRES is the first byte of the GET RESPONSE data that completes RUN GSM ALGORITHM.
      if (corrupt_ && ins == kInsGetResponse && link.previous_ins == kInsRunGsm && length > 2) {
        message[2] ^= 0x01;
        ++corrupted_;
      }
      link.previous_ins = ins;
    }
    if (!write_all(to, message.data(), message.size())) return false;
  }
  return true;
}

void VpcdTap::run() {
  std::optional<Link> link;
  auto close_link = [&link] {
    ::close(link->card);
    ::close(link->vpcd);
    link.reset();
  };
  while (!stop_) {
    std::vector<pollfd> fds{{wake_fd_[0], POLLIN, 0}, {listen_fd_, POLLIN, 0}};
    if (link) {
      fds.push_back({link->card, POLLIN, 0});
      fds.push_back({link->vpcd, POLLIN, 0});
    }
    if (::poll(fds.data(), fds.size(), 500) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[0].revents != 0) break;
    if (link) {
      bool open = true;
      if (fds[2].revents != 0) open = pump(*link, true);
      if (open && fds[3].revents != 0) open = pump(*link, false);
      if (!open) close_link();  // the card was pulled (or vpcd went away): pull it on the other side too
    }
    if (fds[1].revents & POLLIN) {
      int card = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (card < 0) continue;
      if (link) close_link();  // one reader slot: a new card replaces whatever was there
      int vpcd = connect_local(vpcd_port_);
      if (vpcd < 0) {
        ::close(card);  // card-sim sees vpcd as unreachable and retries
        continue;
      }
      link.emplace();
      link->card = card;
      link->vpcd = vpcd;
      link->connection = ++connections_;
    }
  }
  if (link) close_link();
}

}  // namespace cardperso::e2e
