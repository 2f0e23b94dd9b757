#include "cardperso/testing/frame_proxy.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <list>

namespace cardperso::testing {

struct FrameProxy::Link {
  int client = -1;
  int target = -1;
  std::size_t connection = 0;
  Bytes pending[2];              // by Direction: received, not yet a whole message
  std::size_t next_index[2] = {0, 0};
  bool raw[2] = {false, false};  // a side that broke the framing: its bytes pass untouched from then on
};

FrameProxy::FrameProxy(int target_port, FrameHook on_frame)
    : FrameProxy(target_port, ProxyOptions{protocol_frames(), std::move(on_frame), {}, false, 8}) {}

FrameProxy::FrameProxy(int target_port, ProxyOptions options)
    : target_port_(target_port), options_(std::move(options)), listener_(listen_loopback("proxy", options_.backlog)) {
  thread_ = std::thread([this] { run(); });
}

FrameProxy::~FrameProxy() {
  stop_ = true;
  wake_.wake();
  if (thread_.joinable()) thread_.join();
  ::close(listener_.fd);
}

std::vector<RelayedFrame> FrameProxy::recorded() const {
  std::lock_guard lock(mutex_);
  return recorded_;
}

std::vector<RelayedFrame> FrameProxy::recorded(std::size_t connection, Direction direction) const {
  std::vector<RelayedFrame> out;
  for (auto& f : recorded())
    if (f.connection == connection && f.direction == direction) out.push_back(std::move(f));
  return out;
}

std::vector<CapturedConnection> FrameProxy::captured() const {
  std::lock_guard lock(mutex_);
  return captured_;
}

bool FrameProxy::write_to(Link& link, Direction direction, const Bytes& bytes) {
  const int fd = direction == Direction::ToTarget ? link.target : link.client;
  return send_all(fd, bytes.data(), bytes.size());
}

// Reads what one side sent and runs the hook on every whole message; false: close the link.
bool FrameProxy::pump(Link& link, Direction direction) {
  std::uint8_t buffer[8192];
  const int from = direction == Direction::ToTarget ? link.client : link.target;
  ssize_t n = ::recv(from, buffer, sizeof buffer, 0);
  if (n < 0 && errno == EINTR) return true;
  if (n <= 0) return false;
  Bytes chunk(buffer, buffer + n);
  {
    std::lock_guard lock(mutex_);
    Bytes& sink = direction == Direction::ToTarget ? captured_[link.connection].upstream
                                                   : captured_[link.connection].downstream;
    sink.insert(sink.end(), chunk.begin(), chunk.end());
  }
  if (options_.on_bytes) options_.on_bytes(link.connection, direction, chunk);
  const auto d = static_cast<std::size_t>(direction);
  Bytes& pending = link.pending[d];
  pending.insert(pending.end(), chunk.begin(), chunk.end());
  while (!link.raw[d] && !pending.empty()) {
    const auto whole = options_.framing(pending);
    if (!whole) {
      link.raw[d] = true;
      break;
    }
    if (*whole == 0) break;
    RelayedFrame frame;
    frame.connection = link.connection;
    frame.direction = direction;
    frame.index = link.next_index[d]++;
    frame.bytes.assign(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(*whole));
    pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(*whole));
    {
      std::lock_guard lock(mutex_);
      recorded_.push_back(frame);
    }
    RelayOutput out(direction);
    options_.on_frame(frame, out);
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

void FrameProxy::run() {
  std::list<Link> links;
  auto close_link = [](Link& l) {
    ::close(l.client);
    ::close(l.target);
  };
  while (!stop_) {
    std::vector<pollfd> fds{{wake_.read_end(), POLLIN, 0}, {listener_.fd, POLLIN, 0}};
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
        close_link(*it);
        it = links.erase(it);
      } else {
        ++it;
      }
    }
    if (fds[1].revents & POLLIN) {
      int client = ::accept4(listener_.fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) continue;
      if (options_.single_link) {
        for (auto& l : links) close_link(l);
        links.clear();
      }
      int target = connect_loopback(target_port_);
      if (target < 0) {
        ::close(client);  // the client sees the target as unreachable
        continue;
      }
      Link l;
      l.client = client;
      l.target = target;
      {
        std::lock_guard lock(mutex_);
        l.connection = connections_++;
        captured_.emplace_back();
      }
      links.push_back(std::move(l));
    }
  }
  for (auto& l : links) close_link(l);
}

}  // namespace cardperso::testing
