#include "capturing_proxy.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <list>
#include <stdexcept>

namespace cardperso::e2e {

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

std::vector<FrameRef> split_frames(ByteView stream) {
  std::vector<FrameRef> frames;
  std::size_t at = 0;
  while (stream.size() - at >= kHeaderSize) {
    const std::uint32_t length = get_u32(stream, at + 12);
    if (stream.size() - at - kHeaderSize < length) break;
    FrameRef f;
    f.channel = stream[at + 3];
    f.type = stream[at + 4];
    f.flags = stream[at + 5];
    f.session = get_u32(stream, at + 8);
    f.header.assign(stream.begin() + static_cast<std::ptrdiff_t>(at),
                    stream.begin() + static_cast<std::ptrdiff_t>(at + kHeaderSize));
    f.payload.assign(stream.begin() + static_cast<std::ptrdiff_t>(at + kHeaderSize),
                     stream.begin() + static_cast<std::ptrdiff_t>(at + kHeaderSize + length));
    frames.push_back(std::move(f));
    at += kHeaderSize + length;
  }
  return frames;
}

struct CapturingProxy::Link {
  int client = -1;
  int server = -1;
  std::size_t index = 0;  // into captured_
  Bytes pending_up;       // received from the client, not yet forwarded
  bool frozen_up = false;
};

CapturingProxy::CapturingProxy(int target_port) : target_port_(target_port) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0 || ::pipe2(wake_fd_, O_CLOEXEC) != 0) throw std::runtime_error("proxy: socket/pipe failed");
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listen_fd_, 8) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    throw std::runtime_error("proxy: cannot listen on 127.0.0.1");
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { run(); });
}

CapturingProxy::~CapturingProxy() {
  stop_ = true;
  char b = 1;
  ssize_t n = ::write(wake_fd_[1], &b, 1);
  (void)n;
  if (thread_.joinable()) thread_.join();
  ::close(listen_fd_);
  ::close(wake_fd_[0]);
  ::close(wake_fd_[1]);
}

void CapturingProxy::freeze_upstream_after(std::uint8_t channel, std::uint8_t type) {
  std::lock_guard lock(mutex_);
  freeze_after_ = std::make_pair(channel, type);
}

bool CapturingProxy::wait_frozen(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return frozen_cv_.wait_for(lock, timeout, [this] { return frozen_; });
}

std::vector<CapturedConnection> CapturingProxy::captured() const {
  std::lock_guard lock(mutex_);
  return captured_;
}

// Moves bytes from one side to the other; false when that side closed (the link is then closed).
bool CapturingProxy::pump(Link& link, bool upstream) {
  std::uint8_t buffer[8192];
  const int from = upstream ? link.client : link.server;
  const int to = upstream ? link.server : link.client;
  ssize_t n = ::recv(from, buffer, sizeof buffer, 0);
  if (n < 0 && errno == EINTR) return true;
  if (n <= 0) return false;
  const std::size_t size = static_cast<std::size_t>(n);
  {
    std::lock_guard lock(mutex_);
    Bytes& sink = upstream ? captured_[link.index].upstream : captured_[link.index].downstream;
    sink.insert(sink.end(), buffer, buffer + size);
  }
  if (!upstream) return write_all(to, buffer, size);

  // Client -> target goes frame by frame, so the freeze falls exactly after the chosen frame.
  link.pending_up.insert(link.pending_up.end(), buffer, buffer + size);
  while (!link.frozen_up && link.pending_up.size() >= kHeaderSize) {
    const std::uint32_t length = get_u32(link.pending_up, 12);
    if (length > kMaxPayload) {  // not our protocol: pass it on untouched
      if (!write_all(to, link.pending_up.data(), link.pending_up.size())) return false;
      link.pending_up.clear();
      break;
    }
    const std::size_t whole = kHeaderSize + length;
    if (link.pending_up.size() < whole) break;
    if (!write_all(to, link.pending_up.data(), whole)) return false;
    const std::uint8_t channel = link.pending_up[3];
    const std::uint8_t type = link.pending_up[4];
    link.pending_up.erase(link.pending_up.begin(), link.pending_up.begin() + static_cast<std::ptrdiff_t>(whole));
    std::lock_guard lock(mutex_);
    if (freeze_after_ && !frozen_ && freeze_after_->first == channel && freeze_after_->second == type) {
      link.frozen_up = true;
      frozen_ = true;
      frozen_cv_.notify_all();
    }
  }
  return true;
}

void CapturingProxy::run() {
  std::list<Link> links;
  while (!stop_) {
    std::vector<pollfd> fds{{wake_fd_[0], POLLIN, 0}, {listen_fd_, POLLIN, 0}};
    for (const auto& l : links) {
      fds.push_back({l.client, POLLIN, 0});
      fds.push_back({l.server, POLLIN, 0});
    }
    if (::poll(fds.data(), fds.size(), 500) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[0].revents != 0) break;
    std::size_t i = 2;
    for (auto it = links.begin(); it != links.end(); i += 2) {
      bool open = true;
      if (fds[i].revents != 0) open = pump(*it, true);
      if (open && fds[i + 1].revents != 0) open = pump(*it, false);
      if (!open) {
        ::close(it->client);
        ::close(it->server);
        it = links.erase(it);
      } else {
        ++it;
      }
    }
    if (fds[1].revents & POLLIN) {
      int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) continue;
      int server = connect_local(target_port_);
      if (server < 0) {
        ::close(client);  // the client sees the target as unreachable
        continue;
      }
      Link l;
      l.client = client;
      l.server = server;
      {
        std::lock_guard lock(mutex_);
        l.index = captured_.size();
        captured_.emplace_back();
      }
      links.push_back(std::move(l));
    }
  }
  for (auto& l : links) {
    ::close(l.client);
    ::close(l.server);
  }
}

}  // namespace cardperso::e2e
