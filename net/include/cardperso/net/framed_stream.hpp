#pragma once
// A framed connection over a byte stream: TCP (DTD<->ADS), a tty (STE<->DTD local link) or any
// POSIX descriptor. The frame format lives in proto (sans-I/O); this class only moves bytes, bounds
// buffering to one maximal frame and puts a deadline on every read and write.
//
// FramedStream is a cheap handle: copies share one connection, so a reader coroutine and several
// sender coroutines can hold it at once. All calls on one connection must run on its executor (the
// per-connection strand); writes are serialised there so concurrent senders never interleave bytes.
#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "cardperso/common/bytes.hpp"
#include "cardperso/common/result.hpp"
#include "cardperso/net/asio.hpp"
#include "cardperso/proto/frame.hpp"

namespace cardperso::net {

struct StreamOptions {
  // A peer that stops reading cannot pin a sender forever; a timed-out write closes the connection
  // because part of a frame may already be on the wire.
  std::chrono::milliseconds write_timeout{10'000};
  // How logs and errors name the other end; filled from the socket or device when empty.
  std::string peer;
};

enum class ReadFailure {
  Timeout,     // no complete frame before the deadline; the connection stays usable
  PeerClosed,  // orderly end of stream from the other side (possibly mid-frame); connection closed
  BadFrame,    // the decoder rejected the byte stream; connection closed
  Io,          // socket/device error; connection closed
  Closed,      // this side closed the connection (close() or an earlier failure)
};
std::string_view to_string(ReadFailure failure);

// A Result<proto::Frame> that also says which kind of failure it was.
class [[nodiscard]] ReadResult : public Result<proto::Frame> {
 public:
  ReadResult(proto::Frame frame) : Result<proto::Frame>(std::move(frame)) {}  // NOLINT: implicit on purpose
  ReadResult(ReadFailure failure, Error error) : Result<proto::Frame>(std::move(error)), failure_(failure) {}
  // Meaningful only when !ok().
  ReadFailure failure() const { return failure_; }

 private:
  ReadFailure failure_ = ReadFailure::Io;
};

class FramedStream {
 public:
  explicit FramedStream(tcp::socket socket, StreamOptions options = {});
  explicit FramedStream(asio::serial_port port, StreamOptions options = {});
  explicit FramedStream(asio::posix::stream_descriptor descriptor, StreamOptions options = {});

  // The next frame, waiting at most `timeout` for it. Only one read at a time per connection.
  asio::awaitable<ReadResult> read_frame(std::chrono::milliseconds timeout);

  // Writes one encoded frame (proto::encode_frame output) as a unit. Callers queue behind a write in
  // progress; bytes of two frames never interleave.
  asio::awaitable<Result<void>> write_frame(Bytes encoded_frame);
  // Encodes and writes. A payload over proto::kMaxPayload is refused with an error.
  asio::awaitable<Result<void>> write_frame(const proto::FrameHeader& header, ByteView payload);

  // Closes the connection; pending reads and writes end with an error. Idempotent.
  void close();
  // Ends the read in progress, if any, as if its timeout had passed (ReadFailure::Timeout); the
  // connection stays open and a write in progress carries on. For a shutdown without polling.
  void interrupt_read();
  bool is_open() const;
  const std::string& peer() const;
  asio::any_io_executor get_executor() const;
  // Bytes received but not yet returned as a frame (never more than header + kMaxPayload).
  std::size_t buffered() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace cardperso::net
