#include "cardperso/net/framed_stream.hpp"

#include <spdlog/spdlog.h>

#include "cardperso/common/secret_bytes.hpp"
#include "cardperso/net/endpoint.hpp"

#include <algorithm>
#include <array>
#include <stdexcept>
#include <variant>

namespace cardperso::net {
namespace {

using Stream = std::variant<tcp::socket, asio::serial_port, asio::posix::stream_descriptor>;
using boost::system::error_code;

// Read granularity; with the cap below, at most one maximal frame is ever buffered.
constexpr std::size_t kReadChunk = 16 * 1024;
constexpr std::size_t kMaxFrameBytes = proto::kHeaderSize + proto::kMaxPayload;

asio::any_io_executor executor_of(Stream& stream) {
  return std::visit([](auto& s) -> asio::any_io_executor { return s.get_executor(); }, stream);
}

std::string describe(Stream& stream) {
  if (auto* socket = std::get_if<tcp::socket>(&stream)) {
    error_code ec;
    const auto remote = socket->remote_endpoint(ec);
    if (ec) return "tcp peer";
    return Endpoint{remote.address().to_string(), remote.port()}.to_string();
  }
  return "local link";
}

}  // namespace

std::string_view to_string(ReadFailure failure) {
  switch (failure) {
    case ReadFailure::Timeout: return "timeout";
    case ReadFailure::PeerClosed: return "peer closed";
    case ReadFailure::BadFrame: return "bad frame";
    case ReadFailure::Io: return "i/o error";
    case ReadFailure::Closed: return "closed";
  }
  return "unknown";
}

struct FramedStream::Impl : std::enable_shared_from_this<Impl> {
  Impl(Stream s, StreamOptions opts)
      : stream(std::move(s)),
        options(std::move(opts)),
        read_timer(executor_of(stream)),
        write_timer(executor_of(stream)),
        write_wakeup(executor_of(stream)) {
    if (options.peer.empty()) options.peer = describe(stream);
    // Waiters on write_wakeup are woken by cancel_one()/cancel(); the expiry itself never comes.
    write_wakeup.expires_at(asio::steady_timer::time_point::max());
  }

  // Cancels every pending operation on the stream (Asio cannot cancel just the read or just the
  // write). The side whose own deadline did not fire sees operation_aborted and simply retries.
  void cancel_io() {
    std::visit([](auto& s) { error_code ignored; s.cancel(ignored); }, stream);
  }

  void close() {
    if (closed) return;
    closed = true;
    std::visit([](auto& s) { error_code ignored; s.close(ignored); }, stream);
    read_timer.cancel();
    write_timer.cancel();
    write_wakeup.cancel();
  }

  void arm_read_watchdog(std::chrono::milliseconds timeout) {
    read_timed_out = false;
    read_timer.expires_after(timeout);
    read_timer.async_wait([weak = weak_from_this(), generation = read_generation](const error_code& ec) {
      if (ec) return;
      auto self = weak.lock();
      if (!self || self->read_generation != generation || !self->reading) return;
      self->read_timed_out = true;
      self->cancel_io();
    });
  }

  void arm_write_watchdog() {
    write_timed_out = false;
    write_timer.expires_after(options.write_timeout);
    write_timer.async_wait([weak = weak_from_this(), generation = write_generation](const error_code& ec) {
      if (ec) return;
      auto self = weak.lock();
      if (!self || self->write_generation != generation || !self->writing) return;
      self->write_timed_out = true;
      self->cancel_io();
    });
  }

  Stream stream;
  StreamOptions options;
  proto::FrameDecoder decoder;
  std::array<std::uint8_t, kReadChunk> read_buffer{};
  asio::steady_timer read_timer;
  asio::steady_timer write_timer;
  asio::steady_timer write_wakeup;
  std::uint64_t read_generation = 0;
  std::uint64_t write_generation = 0;
  bool reading = false;
  bool read_timed_out = false;
  bool writing = false;
  bool write_timed_out = false;
  bool closed = false;
};

namespace {

// Plain functions (not coroutines, no lambdas in the co_await expression) that start one
// operation on whichever stream type this is.
asio::awaitable<std::size_t> read_some(Stream& stream, asio::mutable_buffer buffer, error_code& ec) {
  if (auto* s = std::get_if<tcp::socket>(&stream))
    return s->async_read_some(buffer, asio::redirect_error(asio::use_awaitable, ec));
  if (auto* s = std::get_if<asio::serial_port>(&stream))
    return s->async_read_some(buffer, asio::redirect_error(asio::use_awaitable, ec));
  return std::get<asio::posix::stream_descriptor>(stream).async_read_some(
      buffer, asio::redirect_error(asio::use_awaitable, ec));
}

asio::awaitable<std::size_t> write_some(Stream& stream, asio::const_buffer buffer, error_code& ec) {
  if (auto* s = std::get_if<tcp::socket>(&stream))
    return s->async_write_some(buffer, asio::redirect_error(asio::use_awaitable, ec));
  if (auto* s = std::get_if<asio::serial_port>(&stream))
    return s->async_write_some(buffer, asio::redirect_error(asio::use_awaitable, ec));
  return std::get<asio::posix::stream_descriptor>(stream).async_write_some(
      buffer, asio::redirect_error(asio::use_awaitable, ec));
}

bool is_end_of_stream(const error_code& ec) {
  // A pty whose other side went away reports EIO rather than EOF.
  return ec == asio::error::eof || ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == error_code(EIO, boost::system::system_category());
}

// Ends the read in progress on every path out of read_frame.
struct ReadGuard {
  explicit ReadGuard(FramedStream::Impl& impl) : impl_(impl) {
    impl_.reading = true;
    impl_.read_timed_out = false;  // a deadline belongs to one read_frame call
  }
  ~ReadGuard() {
    impl_.reading = false;
    ++impl_.read_generation;
    impl_.read_timer.cancel();
  }
  ReadGuard(const ReadGuard&) = delete;
  ReadGuard& operator=(const ReadGuard&) = delete;
  FramedStream::Impl& impl_;
};

// Hands the write slot to the next queued sender on every path out of write_frame.
struct WriteGuard {
  explicit WriteGuard(FramedStream::Impl& impl) : impl_(impl) { impl_.writing = true; }
  ~WriteGuard() {
    impl_.writing = false;
    ++impl_.write_generation;
    impl_.write_timer.cancel();
    impl_.write_wakeup.cancel_one();
  }
  WriteGuard(const WriteGuard&) = delete;
  WriteGuard& operator=(const WriteGuard&) = delete;
  FramedStream::Impl& impl_;
};

asio::awaitable<ReadResult> read_frame_on(std::shared_ptr<FramedStream::Impl> impl,
                                          std::chrono::milliseconds timeout) {
  if (impl->reading) throw std::logic_error("FramedStream::read_frame: a read is already in progress");
  ReadGuard guard(*impl);
  impl->read_timed_out = false;  // a previous read's timeout must not end this one at once
  bool armed = false;
  for (;;) {
    auto next = impl->decoder.next();
    if (!next.ok()) {
      spdlog::warn("closing connection to {}: bad frame: {}", impl->options.peer, next.error().message);
      impl->close();
      co_return ReadResult(ReadFailure::BadFrame,
                           fail("bad frame from " + impl->options.peer + ": " + next.error().message +
                                "; connection closed"));
    }
    if (next->has_value()) co_return ReadResult(std::move(**next));
    if (impl->closed) co_return ReadResult(ReadFailure::Closed, fail("connection to " + impl->options.peer +
                                                                     " is closed; reconnect to continue"));
    if (impl->read_timed_out)
      co_return ReadResult(ReadFailure::Timeout, fail("no frame from " + impl->options.peer + " within " +
                                                      std::to_string(timeout.count()) + " ms"));
    if (!armed) {
      impl->arm_read_watchdog(timeout);
      armed = true;
    }
    const std::size_t room = kMaxFrameBytes - std::min(kMaxFrameBytes, impl->decoder.buffered());
    if (room == 0) {
      // The decoder holds a whole maximal frame it did not return: it broke its contract.
      impl->close();
      co_return ReadResult(ReadFailure::BadFrame, fail("frame decoder buffered more than one frame from " +
                                                       impl->options.peer + "; connection closed"));
    }
    error_code ec;
    const std::size_t n =
        co_await read_some(impl->stream, asio::buffer(impl->read_buffer.data(), std::min(room, kReadChunk)), ec);
    if (ec == asio::error::operation_aborted) continue;  // our deadline, a close, or the write side's deadline
    if (ec) {
      const bool mid_frame = impl->decoder.buffered() > 0;
      const std::size_t partial = impl->decoder.buffered();
      impl->close();
      if (is_end_of_stream(ec)) {
        co_return ReadResult(ReadFailure::PeerClosed,
                             fail(impl->options.peer + " closed the connection" +
                                  (mid_frame ? " in the middle of a frame (" + std::to_string(partial) +
                                                   " bytes of it received)"
                                             : std::string())));
      }
      co_return ReadResult(ReadFailure::Io,
                           fail("read from " + impl->options.peer + " failed: " + ec.message() + "; connection closed"));
    }
    impl->decoder.feed(ByteView(impl->read_buffer.data(), n));
  }
}

// Some frames carry a key (the STE's L1 handover holds SK_D): no written frame's bytes outlive the write.
struct WipeOnExit {
  Bytes& bytes;
  ~WipeOnExit() { secure_wipe(bytes.data(), bytes.size()); }
};

asio::awaitable<Result<void>> write_frame_on(std::shared_ptr<FramedStream::Impl> impl, Bytes encoded) {
  WipeOnExit wipe{encoded};
  if (encoded.size() > kMaxFrameBytes)
    co_return fail("refusing to send a " + std::to_string(encoded.size()) + "-byte frame to " +
                   impl->options.peer + ": the limit is " + std::to_string(kMaxFrameBytes));
  while (impl->writing && !impl->closed) {
    error_code ignored;
    co_await impl->write_wakeup.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  }
  if (impl->closed) co_return fail("connection to " + impl->options.peer + " is closed; frame not sent");
  WriteGuard guard(*impl);
  impl->arm_write_watchdog();
  std::size_t offset = 0;
  while (offset < encoded.size()) {
    error_code ec;
    offset += co_await write_some(impl->stream, asio::buffer(encoded.data() + offset, encoded.size() - offset), ec);
    if (!ec) continue;
    if (ec == asio::error::operation_aborted && !impl->closed && !impl->write_timed_out) continue;
    const std::string why = impl->closed ? "the connection was closed"
                            : impl->write_timed_out
                                ? "the peer did not take it within " +
                                      std::to_string(impl->options.write_timeout.count()) + " ms"
                                : ec.message();
    const bool partial = offset > 0;
    impl->close();
    co_return fail("sending a frame to " + impl->options.peer + " failed: " + why +
                   (partial ? " (part of it was sent)" : "") + "; connection closed");
  }
  co_return Result<void>{};
}

asio::awaitable<Result<void>> refuse(std::string message) { co_return fail(std::move(message)); }

}  // namespace

FramedStream::FramedStream(tcp::socket socket, StreamOptions options) {
  error_code ignored;
  // Request/response traffic: Nagle would add tens of ms to every small frame.
  socket.set_option(tcp::no_delay(true), ignored);
  impl_ = std::make_shared<Impl>(Stream(std::move(socket)), std::move(options));
}

FramedStream::FramedStream(asio::serial_port port, StreamOptions options)
    : impl_(std::make_shared<Impl>(Stream(std::move(port)), std::move(options))) {}

FramedStream::FramedStream(asio::posix::stream_descriptor descriptor, StreamOptions options)
    : impl_(std::make_shared<Impl>(Stream(std::move(descriptor)), std::move(options))) {}

asio::awaitable<ReadResult> FramedStream::read_frame(std::chrono::milliseconds timeout) {
  return read_frame_on(impl_, timeout);
}

asio::awaitable<Result<void>> FramedStream::write_frame(Bytes encoded_frame) {
  return write_frame_on(impl_, std::move(encoded_frame));
}

asio::awaitable<Result<void>> FramedStream::write_frame(const proto::FrameHeader& header, ByteView payload) {
  if (payload.size() > proto::kMaxPayload) {
    // encode_frame would throw; a too-large payload from a caller is reported, not thrown.
    return refuse("refusing to send a " + std::to_string(payload.size()) + "-byte payload to " + impl_->options.peer +
                  ": the limit is " + std::to_string(proto::kMaxPayload));
  }
  return write_frame_on(impl_, proto::encode_frame(header, payload));
}

void FramedStream::close() { impl_->close(); }
void FramedStream::interrupt_read() {
  if (!impl_->reading || impl_->closed) return;
  impl_->read_timed_out = true;
  impl_->cancel_io();  // a write in progress sees operation_aborted and retries
}
bool FramedStream::is_open() const { return !impl_->closed; }
const std::string& FramedStream::peer() const { return impl_->options.peer; }
asio::any_io_executor FramedStream::get_executor() const { return impl_->read_timer.get_executor(); }
std::size_t FramedStream::buffered() const { return impl_->decoder.buffered(); }

}  // namespace cardperso::net
