#pragma once
// A bare TCP peer for attacks that need no real program on one side: replaying a recorded session
// straight to the ADS, or a slow-loris client. Blocking sockets with poll() deadlines.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "cardperso/common/bytes.hpp"
#include "cardperso/testing/framing.hpp"

namespace cardperso::attack {

// A LinkHello frame for this protocol version, encoded by hand (no codec), as a raw client sends it.
Bytes link_hello_frame(const std::string& node_id);

class RawPeer {
 public:
  explicit RawPeer(int port);  // connects to 127.0.0.1:port; connected() says whether it worked
  // The same from another loopback address (e.g. 0x7f000002 for 127.0.0.2): another source for the ADS.
  RawPeer(int port, std::uint32_t from);
  ~RawPeer();
  RawPeer(const RawPeer&) = delete;
  RawPeer& operator=(const RawPeer&) = delete;

  bool connected() const { return fd_ >= 0; }
  bool send(ByteView bytes);
  // The next whole frame (header included); nullopt on timeout or when the peer closed.
  std::optional<Bytes> read_frame(std::chrono::milliseconds timeout);
  // True once the other side closed (EOF or reset) within timeout; bytes it sends meanwhile are read.
  bool wait_closed(std::chrono::milliseconds timeout);
  bool peer_closed() const { return closed_; }

 private:
  bool fill(std::chrono::milliseconds timeout);

  int fd_ = -1;
  bool closed_ = false;
  Bytes pending_;
  testing::Framing frames_ = testing::protocol_frames();
};

}  // namespace cardperso::attack
