// FramedStream over real loopback TCP and a UNIX socket pair: splits, back-to-back frames,
// deadlines, hostile length fields, peers that vanish, and concurrent senders.
#include "cardperso/net/framed_stream.hpp"

#include <sys/socket.h>

#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include "net_test_support.hpp"

namespace cardperso::net {
namespace {

using namespace test;

asio::awaitable<void> write_one_byte_at_a_time(tcp::socket& socket, Bytes bytes, std::chrono::milliseconds gap) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (std::uint8_t b : bytes) {
    co_await asio::async_write(socket, asio::buffer(&b, 1), asio::use_awaitable);
    timer.expires_after(gap);
    co_await timer.async_wait(asio::use_awaitable);
  }
}

asio::awaitable<void> write_all(tcp::socket& socket, Bytes bytes) {
  co_await asio::async_write(socket, asio::buffer(bytes), asio::use_awaitable);
}

TEST(FramedStream, ReadsAFrameWrittenInOnePiece) {
  asio::io_context io;
  auto [server, client] = tcp_pair(io);
  FramedStream stream(std::move(server));
  const Bytes payload = pattern(300, 1);
  asio::write(client, asio::buffer(proto::encode_frame(header(9, 0x01020304), payload)));

  auto result = run_task(io, stream.read_frame(2s));
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->header.channel, proto::Channel::SteAds);
  EXPECT_EQ(result->header.type, 9);
  EXPECT_EQ(result->header.session, 0x01020304u);
  EXPECT_EQ(result->payload, payload);
  EXPECT_EQ(stream.buffered(), 0u);
}

TEST(FramedStream, ReadsAFrameFromASlowWriterOneByteAtATime) {
  asio::io_context io;
  auto [server, client] = tcp_pair(io);
  FramedStream stream(std::move(server));
  const Bytes payload = pattern(40, 2);
  auto writer = spawn(io.get_executor(),
                      write_one_byte_at_a_time(client, proto::encode_frame(header(3), payload), 1ms));

  const auto started = Clock::now();
  auto result = run_task(io, stream.read_frame(5s));
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->payload, payload);
  // 56 single-byte writes with 1 ms gaps: the frame cannot have been read in one go.
  EXPECT_GE(Clock::now() - started, 40ms);
  run_to_completion(io, writer);
}

TEST(FramedStream, ReadsFramesSentBackToBackInOrder) {
  asio::io_context io;
  auto [server, client] = tcp_pair(io);
  FramedStream stream(std::move(server));
  std::vector<Bytes> payloads = {pattern(0, 0), pattern(17, 1), pattern(proto::kMaxPayload, 2), pattern(5, 3)};
  Bytes wire;
  for (std::size_t i = 0; i < payloads.size(); ++i) {
    const auto f = proto::encode_frame(header(static_cast<std::uint8_t>(i)), payloads[i]);
    wire.insert(wire.end(), f.begin(), f.end());
  }
  auto writer = spawn(io.get_executor(), write_all(client, wire));

  for (std::size_t i = 0; i < payloads.size(); ++i) {
    auto result = run_task(io, stream.read_frame(5s));
    ASSERT_TRUE(result.ok()) << result.error().message;
    EXPECT_EQ(result->header.type, i);
    EXPECT_EQ(result->payload, payloads[i]);
    EXPECT_LE(stream.buffered(), proto::kHeaderSize + proto::kMaxPayload);
  }
  run_to_completion(io, writer);
}

TEST(FramedStream, ReadTimesOutOnASilentPeerAndStaysUsable) {
  asio::io_context io;
  auto [server, client] = tcp_pair(io);
  FramedStream stream(std::move(server));

  const auto started = Clock::now();
  auto result = run_task(io, stream.read_frame(200ms));
  const auto elapsed = Clock::now() - started;
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.failure(), ReadFailure::Timeout);
  EXPECT_NE(result.error().message.find("within 200 ms"), std::string::npos) << result.error().message;
  EXPECT_GE(elapsed, 195ms);
  EXPECT_LE(elapsed, 600ms);
  EXPECT_TRUE(stream.is_open());

  // Half a frame, then a timeout, then the rest: the partial bytes are kept.
  const Bytes frame = proto::encode_frame(header(4), pattern(30, 4));
  asio::write(client, asio::buffer(frame.data(), 10));
  auto partial = run_task(io, stream.read_frame(100ms));
  ASSERT_FALSE(partial.ok());
  EXPECT_EQ(partial.failure(), ReadFailure::Timeout);
  EXPECT_EQ(stream.buffered(), 10u);
  asio::write(client, asio::buffer(frame.data() + 10, frame.size() - 10));
  auto whole = run_task(io, stream.read_frame(2s));
  ASSERT_TRUE(whole.ok()) << whole.error().message;
  EXPECT_EQ(whole->payload, pattern(30, 4));
}

TEST(FramedStream, OversizeLengthIsABadFrameAndClosesTheConnection) {
  asio::io_context io;
  auto [server, client] = tcp_pair(io);
  FramedStream stream(std::move(server));
  // A valid header except that it announces one byte more than the limit.
  Bytes wire = {'C', 'P', proto::kProtocolVersion, 1, 5, 0, 0, 0};
  put_u32(wire, 7);
  put_u32(wire, static_cast<std::uint32_t>(proto::kMaxPayload + 1));
  asio::write(client, asio::buffer(wire));

  auto result = run_task(io, stream.read_frame(2s));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.failure(), ReadFailure::BadFrame);
  EXPECT_NE(result.error().message.find("connection closed"), std::string::npos) << result.error().message;
  EXPECT_FALSE(stream.is_open());
  // The peer sees the close.
  std::uint8_t byte = 0;
  boost::system::error_code ec;
  client.read_some(asio::buffer(&byte, 1), ec);
  EXPECT_EQ(ec, asio::error::eof);
  // And later reads say so instead of touching a closed socket.
  auto again = run_task(io, stream.read_frame(100ms));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.failure(), ReadFailure::BadFrame);  // the decoder stays failed
}

TEST(FramedStream, GarbageMagicIsABadFrameWithTheDecodersReason) {
  asio::io_context io;
  auto [server, client] = tcp_pair(io);
  FramedStream stream(std::move(server));
  const Bytes garbage(proto::kHeaderSize, 0x47);
  asio::write(client, asio::buffer(garbage));
  auto result = run_task(io, stream.read_frame(2s));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.failure(), ReadFailure::BadFrame);
  EXPECT_GT(result.error().message.size(), std::string("bad frame from : ; connection closed").size());
}

TEST(FramedStream, PeerClosingMidFrameIsReportedAsPeerClosed) {
  asio::io_context io;
  auto [server, client] = tcp_pair(io);
  FramedStream stream(std::move(server));
  const Bytes frame = proto::encode_frame(header(1), pattern(100, 9));
  asio::write(client, asio::buffer(frame.data(), 20));
  client.close();

  auto result = run_task(io, stream.read_frame(2s));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.failure(), ReadFailure::PeerClosed);
  EXPECT_NE(result.error().message.find("closed the connection in the middle of a frame (20 bytes"),
            std::string::npos)
      << result.error().message;
  EXPECT_FALSE(stream.is_open());
}

TEST(FramedStream, PeerClosingBetweenFramesIsAPlainPeerClosed) {
  asio::io_context io;
  auto [server, client] = tcp_pair(io);
  FramedStream stream(std::move(server));
  client.close();
  auto result = run_task(io, stream.read_frame(2s));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.failure(), ReadFailure::PeerClosed);
  EXPECT_EQ(result.error().message.find("middle"), std::string::npos) << result.error().message;
}

TEST(FramedStream, CloseEndsAReadInProgress) {
  asio::io_context io;
  auto [server, client] = tcp_pair(io);
  FramedStream stream(std::move(server));
  auto out = std::make_shared<std::optional<ReadResult>>();
  auto reader = spawn(io.get_executor(), store_result(stream.read_frame(5s), out));
  asio::steady_timer timer(io, 50ms);
  timer.async_wait([stream](const boost::system::error_code&) mutable { stream.close(); });
  run_to_completion(io, reader, 2s);
  ASSERT_TRUE(out->has_value());
  ASSERT_FALSE((*out)->ok());
  EXPECT_EQ((*out)->failure(), ReadFailure::Closed);
}

// Sends `count` large frames whose payload names the sender and the sequence number.
asio::awaitable<void> send_many(FramedStream stream, std::uint8_t sender, int count,
                                std::shared_ptr<int> failures) {
  for (int i = 0; i < count; ++i) {
    Bytes payload = pattern(60'000, static_cast<std::uint8_t>(sender * 31 + i));
    payload[0] = sender;
    payload[1] = static_cast<std::uint8_t>(i);
    auto sent = co_await stream.write_frame(header(sender), payload);
    if (!sent.ok()) ++*failures;
  }
}

asio::awaitable<void> receive_and_check(FramedStream stream, int expected, std::shared_ptr<std::vector<int>> next_seq,
                                        std::shared_ptr<int> bad) {
  for (int n = 0; n < expected; ++n) {
    auto frame = co_await stream.read_frame(5s);
    if (!frame.ok()) {
      ++*bad;
      co_return;
    }
    const std::uint8_t sender = frame->payload.at(0);
    const int seq = frame->payload.at(1);
    Bytes want = pattern(60'000, static_cast<std::uint8_t>(sender * 31 + seq));
    want[0] = sender;
    want[1] = static_cast<std::uint8_t>(seq);
    if (frame->header.type != sender || frame->payload != want || (*next_seq)[sender] != seq) ++*bad;
    (*next_seq)[sender] = seq + 1;
  }
}

TEST(FramedStream, ConcurrentSendersNeverInterleaveFrames) {
  asio::io_context io;
  auto [server, client] = tcp_pair(io);
  FramedStream sender(std::move(server));
  FramedStream receiver(std::move(client));
  auto failures = std::make_shared<int>(0);
  auto bad = std::make_shared<int>(0);
  auto next_seq = std::make_shared<std::vector<int>>(4, 0);
  auto a = spawn(io.get_executor(), send_many(sender, 1, 20, failures));
  auto b = spawn(io.get_executor(), send_many(sender, 2, 20, failures));
  auto c = spawn(io.get_executor(), send_many(sender, 3, 20, failures));
  auto r = spawn(io.get_executor(), receive_and_check(receiver, 60, next_seq, bad));
  run_to_completion(io, r);
  run_to_completion(io, a);
  run_to_completion(io, b);
  run_to_completion(io, c);
  EXPECT_EQ(*failures, 0);
  EXPECT_EQ(*bad, 0);
  EXPECT_EQ(*next_seq, (std::vector<int>{0, 20, 20, 20}));
}

asio::awaitable<void> poll_with_short_timeouts(FramedStream stream, std::shared_ptr<int> timeouts,
                                               std::shared_ptr<bool> stop) {
  while (!*stop) {
    auto r = co_await stream.read_frame(1ms);
    if (r.ok() || r.failure() != ReadFailure::Timeout) co_return;
    ++*timeouts;
  }
}

asio::awaitable<void> send_then_flag(FramedStream stream, int count, std::shared_ptr<int> failures,
                                     std::shared_ptr<bool> done) {
  co_await send_many(stream, 1, count, failures);
  *done = true;
}

TEST(FramedStream, ReadDeadlinesDoNotDisturbAWriteInProgress) {
  // Asio cancels reads and writes together; a read deadline must not cut a frame being written.
  asio::io_context io;
  auto [server, client] = tcp_pair(io);
  FramedStream busy(std::move(server));
  FramedStream peer(std::move(client));
  auto timeouts = std::make_shared<int>(0);
  auto failures = std::make_shared<int>(0);
  auto bad = std::make_shared<int>(0);
  auto done = std::make_shared<bool>(false);
  auto next_seq = std::make_shared<std::vector<int>>(4, 0);
  auto poller = spawn(io.get_executor(), poll_with_short_timeouts(busy, timeouts, done));
  auto writer = spawn(io.get_executor(), send_then_flag(busy, 40, failures, done));
  auto reader = spawn(io.get_executor(), receive_and_check(peer, 40, next_seq, bad));
  run_to_completion(io, reader);
  run_to_completion(io, writer);
  run_to_completion(io, poller);
  EXPECT_EQ(*failures, 0);
  EXPECT_EQ(*bad, 0);
  EXPECT_EQ((*next_seq)[1], 40);
  EXPECT_GT(*timeouts, 0);
}

TEST(FramedStream, WriteTimesOutWhenThePeerStopsReading) {
  asio::io_context io;
  auto [server, client] = tcp_pair(io);
  client.set_option(asio::socket_base::receive_buffer_size(4096));
  server.set_option(asio::socket_base::send_buffer_size(4096));
  FramedStream stream(std::move(server), StreamOptions{.write_timeout = 200ms, .peer = "stuck peer"});
  Result<void> last;
  int sent = 0;
  const auto started = Clock::now();
  for (; sent < 2000 && last.ok(); ++sent) last = run_task(io, stream.write_frame(header(1), pattern(60'000, 1)));
  ASSERT_FALSE(last.ok()) << "a peer that never reads absorbed " << sent << " frames";
  EXPECT_NE(last.error().message.find("sending a frame to stuck peer failed: the peer did not take it within 200 ms"), std::string::npos)
      << last.error().message;
  EXPECT_FALSE(stream.is_open());
  EXPECT_LE(Clock::now() - started, 5s);
}

TEST(FramedStream, OversizePayloadIsRefusedBeforeSending) {
  asio::io_context io;
  auto [server, client] = tcp_pair(io);
  FramedStream stream(std::move(server));
  auto sent = run_task(io, stream.write_frame(header(1), Bytes(proto::kMaxPayload + 1)));
  ASSERT_FALSE(sent.ok());
  EXPECT_NE(sent.error().message.find("limit"), std::string::npos);
  EXPECT_TRUE(stream.is_open());
  auto raw = run_task(io, stream.write_frame(Bytes(proto::kHeaderSize + proto::kMaxPayload + 1)));
  EXPECT_FALSE(raw.ok());
}

TEST(FramedStream, CarriesFramesBothWaysOverAUnixSocketPair) {
  asio::io_context io;
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
  FramedStream a(asio::posix::stream_descriptor(io, fds[0]), StreamOptions{.peer = "b"});
  FramedStream b(asio::posix::stream_descriptor(io, fds[1]), StreamOptions{.peer = "a"});
  ASSERT_TRUE(run_task(io, a.write_frame(header(1), pattern(1000, 1))).ok());
  ASSERT_TRUE(run_task(io, b.write_frame(header(2), pattern(2000, 2))).ok());
  auto at_b = run_task(io, b.read_frame(2s));
  auto at_a = run_task(io, a.read_frame(2s));
  ASSERT_TRUE(at_b.ok() && at_a.ok());
  EXPECT_EQ(at_b->payload, pattern(1000, 1));
  EXPECT_EQ(at_a->payload, pattern(2000, 2));
  a.close();
  auto closed = run_task(io, b.read_frame(2s));
  ASSERT_FALSE(closed.ok());
  EXPECT_EQ(closed.failure(), ReadFailure::PeerClosed);
}

}  // namespace
}  // namespace cardperso::net
