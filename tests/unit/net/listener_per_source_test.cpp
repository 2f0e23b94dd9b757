// The listener's per-source cap over real loopback TCP: clients bound to 127.0.0.2 (all of 127/8 is
// loopback) are capped while 127.0.0.1 is still served; a slot frees when a client leaves. And the
// source keys themselves (IPv4, IPv6 /64, IPv4-mapped).
#include "cardperso/net/source_address.hpp"
#include "cardperso/net/tcp_listener.hpp"
#include "net_test_support.hpp"

namespace cardperso::net {
namespace {

using namespace test;

asio::awaitable<bool> round_trip(FramedStream stream, std::uint8_t seed) {
  const Bytes payload = pattern(100, seed);
  auto sent = co_await stream.write_frame(header(seed), payload);
  if (!sent.ok()) co_return false;
  auto back = co_await stream.read_frame(3s);
  co_return back.ok() && back->payload == payload;
}

FramedStream connect_from(asio::io_context& io, const std::string& source, std::uint16_t port) {
  tcp::socket s(io);
  s.open(tcp::v4());
  s.bind(tcp::endpoint(asio::ip::make_address(source), 0));
  s.connect(tcp::endpoint(asio::ip::address_v4::loopback(), port));
  return FramedStream(std::move(s));
}

TEST(TcpListenerPerSource, CapsOneSourceWhileOthersAreServed) {
  asio::io_context io;
  ListenerOptions options{.max_connections = 64, .stream = {}, .max_connections_per_source = 2};
  auto opened = TcpListener::open(io, Endpoint{"127.0.0.1", 0}, options, &echo_frames);
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  auto listener = *opened;
  listener->start();
  const auto port = listener->local_endpoint().port();

  auto a = connect_from(io, "127.0.0.2", port);
  auto b = connect_from(io, "127.0.0.2", port);
  EXPECT_TRUE(run_task(io, round_trip(a, 1)));
  EXPECT_TRUE(run_task(io, round_trip(b, 2)));
  auto c = connect_from(io, "127.0.0.2", port);  // third from the same source: closed at once
  auto refused = run_task(io, c.read_frame(3s));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.failure(), ReadFailure::PeerClosed) << refused.error().message;
  EXPECT_EQ(listener->refused_per_source(), 1u);

  auto shop = connect_from(io, "127.0.0.1", port);  // another source is not affected
  EXPECT_TRUE(run_task(io, round_trip(shop, 3)));
  EXPECT_EQ(listener->active_connections(), 3u);

  a.close();
  ASSERT_TRUE(run_until(io, [&] { return listener->active_connections() == 2; }, 3s));
  auto d = connect_from(io, "127.0.0.2", port);  // the freed slot is usable again
  EXPECT_TRUE(run_task(io, round_trip(d, 4)));
  EXPECT_EQ(listener->refused_per_source(), 1u);

  bool stopped = false;
  listener->stop(100ms, [&] { stopped = true; });
  ASSERT_TRUE(run_until(io, [&] { return stopped; }, 5s));
}

TEST(SourceKey, Ipv4Ipv6Slash64AndMapped) {
  EXPECT_EQ(source_key(asio::ip::make_address("127.0.0.2")), "127.0.0.2");
  EXPECT_EQ(source_key(asio::ip::make_address("2001:db8:1:2:aaaa:bbbb:cccc:dddd")), "2001:db8:1:2::/64");
  EXPECT_EQ(source_key(asio::ip::make_address("2001:db8:1:2::9")), "2001:db8:1:2::/64");
  EXPECT_EQ(source_key(asio::ip::make_address("::ffff:192.0.2.7")), "192.0.2.7");
  EXPECT_EQ(source_key_of_peer("127.0.0.1:40296"), "127.0.0.1");
  EXPECT_EQ(source_key_of_peer("[2001:db8::1]:7700"), "2001:db8::/64");
  EXPECT_EQ(source_key_of_peer("/dev/ttyUSB0"), std::nullopt);
  EXPECT_EQ(source_key_of_peer("ads.example:7700"), std::nullopt);
}

}  // namespace
}  // namespace cardperso::net
