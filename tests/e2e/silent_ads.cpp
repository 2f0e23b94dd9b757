#include "silent_ads.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <list>

#include "cardperso/common/bytes.hpp"
#include "cardperso/proto/frame.hpp"

namespace cardperso::e2e {

namespace {

// LinkHelloAck(version 2) on channel 0, session 0 (proto/PROTOCOL.md §2, §5).
const Bytes kLinkHelloAck = hex("4350" "02" "00" "02" "00" "0000" "00000000" "00000001" "02");

}  // namespace

SilentAds::SilentAds() : listener_(testing::listen_loopback("silent ADS")) {
  thread_ = std::thread([this] { run(); });
}

SilentAds::~SilentAds() {
  wake_.wake();
  if (thread_.joinable()) thread_.join();
  ::close(listener_.fd);
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
    proto::FrameDecoder frames;
  };
  std::list<Peer> peers;
  for (;;) {
    std::vector<pollfd> fds{{wake_.read_end(), POLLIN, 0}, {listener_.fd, POLLIN, 0}};
    for (const auto& p : peers) fds.push_back({p.fd, POLLIN, 0});
    if (::poll(fds.data(), fds.size(), 500) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[0].revents != 0) break;
    std::size_t i = 2;
    for (auto it = peers.begin(); it != peers.end(); ++i) {
      if (fds[i].revents == 0) {
        ++it;
        continue;
      }
      std::uint8_t chunk[4096];
      ssize_t n = ::recv(it->fd, chunk, sizeof chunk, 0);
      if (n <= 0) {
        ::close(it->fd);
        it = peers.erase(it);
        continue;
      }
      it->frames.feed(ByteView(chunk, static_cast<std::size_t>(n)));
      for (auto frame = it->frames.next(); frame && *frame; frame = it->frames.next()) {
        const auto channel = static_cast<std::uint8_t>((*frame)->header.channel);
        const std::uint8_t type = (*frame)->header.type;
        if (channel == 0 && type == 0x01) (void)testing::send_all(it->fd, kLinkHelloAck.data(), kLinkHelloAck.size());
        std::lock_guard lock(mutex_);
        received_.emplace_back(channel, type);
        cv_.notify_all();
      }
      ++it;
    }
    if (fds[1].revents & POLLIN) {
      int fd = ::accept4(listener_.fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd >= 0) peers.push_back({fd, {}});
    }
  }
  for (auto& p : peers) ::close(p.fd);
}

}  // namespace cardperso::e2e
