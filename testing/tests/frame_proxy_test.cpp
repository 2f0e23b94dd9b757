#include "cardperso/testing/frame_proxy.hpp"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "cardperso/proto/frame.hpp"

namespace cardperso::testing {
namespace {

using namespace std::chrono_literals;

// The proxy's target: echoes every byte of one connection back.
class EchoTarget {
 public:
  EchoTarget() : listener_(listen_loopback("echo target")) {
    thread_ = std::thread([this] {
      const int fd = ::accept4(listener_.fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) return;
      std::uint8_t buffer[4096];
      for (;;) {
        const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
        if (n <= 0 || !send_all(fd, buffer, static_cast<std::size_t>(n))) break;
      }
      ::close(fd);
    });
  }
  ~EchoTarget() {
    ::shutdown(listener_.fd, SHUT_RDWR);
    thread_.join();
    ::close(listener_.fd);
  }
  int port() const { return listener_.port; }

 private:
  Listener listener_;
  std::thread thread_;
};

Bytes frame(std::uint8_t type, const std::string& text) {
  proto::FrameHeader h;
  h.channel = proto::Channel::SteAds;
  h.type = type;
  h.session = 7;
  return proto::encode_frame(h, view(text));
}

// Reads exactly `size` bytes (or what came before the 5 s deadline).
Bytes read_bytes(int fd, std::size_t size) {
  Bytes got;
  while (got.size() < size) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 5000) <= 0) break;
    std::uint8_t buffer[4096];
    const ssize_t n = ::recv(fd, buffer, std::min(sizeof buffer, size - got.size()), 0);
    if (n <= 0) break;
    got.insert(got.end(), buffer, buffer + n);
  }
  return got;
}

struct Client {
  explicit Client(int port) : fd(connect_loopback(port)) {}
  ~Client() {
    if (fd >= 0) ::close(fd);
  }
  void send(const Bytes& b) const { ASSERT_TRUE(send_all(fd, b.data(), b.size())); }
  int fd;
};

TEST(FrameProxy, PassesBytesAndRecordsDecodedFrames) {
  EchoTarget target;
  FrameProxy proxy(target.port());
  Client client(proxy.port());
  ASSERT_GE(client.fd, 0);
  const Bytes a = frame(0x29, "hello"), b = frame(0x28, "bye");
  Bytes both = concat({a, b});
  // Split mid-header: the proxy must wait for whole frames.
  client.send(Bytes(both.begin(), both.begin() + 7));
  std::this_thread::sleep_for(20ms);
  client.send(Bytes(both.begin() + 7, both.end()));
  EXPECT_EQ(read_bytes(client.fd, both.size()), both);

  const auto up = proxy.recorded(0, Direction::ToTarget);
  const auto down = proxy.recorded(0, Direction::ToClient);
  ASSERT_EQ(up.size(), 2u);
  ASSERT_EQ(down.size(), 2u);
  EXPECT_EQ(up[0].bytes, a);
  EXPECT_TRUE(up[0].is(1, 0x29));
  EXPECT_EQ(up[0].session(), 7u);
  EXPECT_EQ(std::string(up[0].payload().begin(), up[0].payload().end()), "hello");
  EXPECT_EQ(up[1].index, 1u);
  EXPECT_TRUE(down[1].is(1, 0x28));
  EXPECT_EQ(proxy.connections(), 1u);
  const auto captured = proxy.captured();
  ASSERT_EQ(captured.size(), 1u);
  EXPECT_EQ(captured[0].upstream, both);
  const auto split = split_frames(captured[0].downstream);
  ASSERT_EQ(split.size(), 2u);
  EXPECT_EQ(split[1].type, 0x28);
  EXPECT_EQ(std::string(split[1].payload.begin(), split[1].payload.end()), "bye");
}

TEST(FrameProxy, HooksEditDropAndInject) {
  EchoTarget target;
  FrameProxy proxy(target.port(), [](const RelayedFrame& f, RelayOutput& out) {
    if (f.direction != Direction::ToTarget) return out.forward(f.bytes);
    if (f.type() == 0x29) return;  // dropped
    Bytes edited = f.bytes;
    edited.back() ^= 0x20;  // "bye" -> "byE"
    out.forward(edited);
    out.forward(edited);  // duplicated
    out.send(Direction::ToClient, frame(0x30, "injected"));
  });
  Client client(proxy.port());
  client.send(concat({frame(0x29, "dropped"), frame(0x28, "bye")}));
  const Bytes expected = concat({frame(0x30, "injected"), frame(0x28, "byE"), frame(0x28, "byE")});
  EXPECT_EQ(read_bytes(client.fd, expected.size()), expected);
}

TEST(FrameProxy, CloseCutsTheConnection) {
  EchoTarget target;
  FrameProxy proxy(target.port(), [](const RelayedFrame& f, RelayOutput& out) {
    out.forward(Bytes(f.bytes.begin(), f.bytes.begin() + 5));
    out.close();
  });
  Client client(proxy.port());
  client.send(frame(0x29, "truncated"));
  EXPECT_EQ(read_bytes(client.fd, 100).size(), 0u) << "the echo of 5 bytes cannot come back: the link is closed";
}

TEST(FrameProxy, BytesThatAreNoFrameAndTheRawHook) {
  EchoTarget target;
  std::mutex mutex;
  std::size_t chunks = 0;
  ProxyOptions options;
  options.on_bytes = [&](std::size_t, Direction, Bytes&) {
    std::lock_guard lock(mutex);
    ++chunks;
  };
  FrameProxy proxy(target.port(), std::move(options));
  Client client(proxy.port());
  const Bytes junk(40, 0xEE);  // bad magic: passed on untouched
  client.send(junk);
  EXPECT_EQ(read_bytes(client.fd, junk.size()), junk);
  EXPECT_TRUE(proxy.recorded().empty());
  std::lock_guard lock(mutex);
  EXPECT_GE(chunks, 2u) << "one chunk each way at least";
}

TEST(FrameProxy, VpcdFramingCutsLengthPrefixedMessages) {
  EchoTarget target;
  ProxyOptions options;
  options.framing = vpcd_messages();
  options.single_link = true;
  FrameProxy proxy(target.port(), std::move(options));
  Client client(proxy.port());
  const Bytes messages = {0x00, 0x01, 0x04, 0x00, 0x03, 0xA0, 0xA4, 0x00};
  client.send(messages);
  EXPECT_EQ(read_bytes(client.fd, messages.size()), messages);
  const auto up = proxy.recorded(0, Direction::ToTarget);
  ASSERT_EQ(up.size(), 2u);
  EXPECT_EQ(up[0].bytes, (Bytes{0x00, 0x01, 0x04}));
  EXPECT_EQ(up[1].bytes, (Bytes{0x00, 0x03, 0xA0, 0xA4, 0x00}));
}

}  // namespace
}  // namespace cardperso::testing
