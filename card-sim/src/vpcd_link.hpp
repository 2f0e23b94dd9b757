#pragma once
// The card end of one vpcd connection. vpcd (inside pcscd) listens; connecting is inserting the
// card, closing is pulling it out. answer_vpcd_message() is the pure part (message in, reply out);
// VpcdLink adds the socket.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "cardperso/cardsim/sim_card.hpp"
#include "cardperso/common/result.hpp"
#include "vpcd_codec.hpp"

namespace cardperso::cardsim {

struct VpcdAnswer {
  std::optional<Bytes> reply_frame;  // power on/off/reset get no reply
  bool image_changed = false;        // the card's persistent state changed: save the image
};

// Applies one vpcd message to the card. Logs APDU headers and status words at debug level, never
// APDU data (VERIFY, CHANGE, UNBLOCK and UPDATE carry codes and keys).
VpcdAnswer answer_vpcd_message(SimCard& card, const VpcdMessage& message);

struct VpcdEndpoint {
  std::string host = "127.0.0.1";
  std::uint16_t port = 35963;
};

// A blocking TCP connection to vpcd, driven by the caller's poll() loop.
class VpcdLink {
 public:
  VpcdLink() = default;
  ~VpcdLink();
  VpcdLink(const VpcdLink&) = delete;
  VpcdLink& operator=(const VpcdLink&) = delete;

  // Tries every 100 ms until timeout, because the card-sim is often started just before pcscd
  // has opened its vpcd port.
  Result<void> connect(const VpcdEndpoint& endpoint, std::chrono::milliseconds timeout);
  void close();
  bool connected() const { return fd_ >= 0; }
  int fd() const { return fd_; }

  // Reads what the socket has (call when poll() says readable) into the decoder. Fails when vpcd
  // closed the connection or sent a broken frame; the link is closed then.
  Result<void> receive();
  // The next complete message, nullopt when more bytes are needed; fails (and closes) on a broken frame.
  Result<std::optional<VpcdMessage>> next_message();
  Result<void> send(ByteView frame);

 private:
  int fd_ = -1;
  VpcdDecoder decoder_;
};

}  // namespace cardperso::cardsim
