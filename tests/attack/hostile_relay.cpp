#include "hostile_relay.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <list>
#include <stdexcept>

namespace cardperso::attack {

namespace {

constexpr std::size_t kHeaderSize = 16;
constexpr std::uint32_t kMaxPayload = 65536;

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

const char* name(Direction d) { return d == Direction::ToTarget ? "to target" : "to client"; }

void pass_through(const RelayedFrame& frame, RelayOutput& out) { out.forward(frame.bytes); }

struct HostileRelay::Link {
  int client = -1;
  int target = -1;
  std::size_t connection = 0;
  Bytes pending[2];            // by Direction: received, not yet a whole frame
  std::size_t next_index[2] = {0, 0};
  bool raw[2] = {false, false};  // a side that broke the framing: its bytes pass untouched from then on
};

HostileRelay::HostileRelay(int target_port, Attack attack) : target_port_(target_port), attack_(std::move(attack)) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0 || ::pipe2(wake_fd_, O_CLOEXEC) != 0) throw std::runtime_error("relay: socket/pipe failed");
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listen_fd_, 8) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    throw std::runtime_error("relay: cannot listen on 127.0.0.1");
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { run(); });
}

HostileRelay::~HostileRelay() {
  stop_ = true;
  char b = 1;
  ssize_t n = ::write(wake_fd_[1], &b, 1);
  (void)n;
  if (thread_.joinable()) thread_.join();
  ::close(listen_fd_);
  ::close(wake_fd_[0]);
  ::close(wake_fd_[1]);
}

std::vector<RelayedFrame> HostileRelay::recorded() const {
  std::lock_guard lock(mutex_);
  return recorded_;
}

std::vector<RelayedFrame> HostileRelay::recorded(std::size_t connection, Direction direction) const {
  std::vector<RelayedFrame> out;
  for (auto& f : recorded())
    if (f.connection == connection && f.direction == direction) out.push_back(std::move(f));
  return out;
}

bool HostileRelay::write_to(Link& link, Direction direction, const Bytes& bytes) {
  const int fd = direction == Direction::ToTarget ? link.target : link.client;
  return write_all(fd, bytes.data(), bytes.size());
}

// Reads what one side sent and runs the attack on every whole frame; false: close the link.
bool HostileRelay::pump(Link& link, Direction direction) {
  std::uint8_t buffer[8192];
  const int from = direction == Direction::ToTarget ? link.client : link.target;
  ssize_t n = ::recv(from, buffer, sizeof buffer, 0);
  if (n < 0 && errno == EINTR) return true;
  if (n <= 0) return false;
  const auto d = static_cast<std::size_t>(direction);
  Bytes& pending = link.pending[d];
  pending.insert(pending.end(), buffer, buffer + n);
  while (!link.raw[d] && pending.size() >= kHeaderSize) {
    const std::uint32_t length = get_u32(pending, 12);
    if (length > kMaxPayload) {
      link.raw[d] = true;  // not our protocol any more: the receiver must judge it
      break;
    }
    const std::size_t whole = kHeaderSize + length;
    if (pending.size() < whole) break;
    RelayedFrame frame;
    frame.connection = link.connection;
    frame.direction = direction;
    frame.index = link.next_index[d]++;
    frame.bytes.assign(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(whole));
    pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(whole));
    {
      std::lock_guard lock(mutex_);
      recorded_.push_back(frame);
    }
    RelayOutput out(direction);
    attack_(frame, out);
    for (const auto& [to, bytes] : out.writes())
      if (!write_to(link, to, bytes)) return false;
    if (out.closing()) return false;
  }
  if (link.raw[d] && !pending.empty()) {
    const bool ok = write_to(link, direction, pending);
    pending.clear();
    return ok;
  }
  return true;
}

void HostileRelay::run() {
  std::list<Link> links;
  while (!stop_) {
    std::vector<pollfd> fds{{wake_fd_[0], POLLIN, 0}, {listen_fd_, POLLIN, 0}};
    for (const auto& l : links) {
      fds.push_back({l.client, POLLIN, 0});
      fds.push_back({l.target, POLLIN, 0});
    }
    if (::poll(fds.data(), fds.size(), 500) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[0].revents != 0) break;
    std::size_t i = 2;
    for (auto it = links.begin(); it != links.end(); i += 2) {
      bool open = true;
      if (fds[i].revents != 0) open = pump(*it, Direction::ToTarget);
      if (open && fds[i + 1].revents != 0) open = pump(*it, Direction::ToClient);
      if (!open) {
        ::close(it->client);
        ::close(it->target);
        it = links.erase(it);
      } else {
        ++it;
      }
    }
    if (fds[1].revents & POLLIN) {
      int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) continue;
      int target = connect_local(target_port_);
      if (target < 0) {
        ::close(client);
        continue;
      }
      Link l;
      l.client = client;
      l.target = target;
      l.connection = connections_++;
      links.push_back(std::move(l));
    }
  }
  for (auto& l : links) {
    ::close(l.client);
    ::close(l.target);
  }
}

}  // namespace cardperso::attack
