#include "personalisation_vpcd_tap.hpp"

namespace cardperso::e2e {

namespace {

constexpr std::uint8_t kInsRunGsm = 0x88;
constexpr std::uint8_t kInsGetResponse = 0xC0;

}  // namespace

VpcdTap::VpcdTap(int vpcd_port) {
  testing::ProxyOptions options;
  options.framing = testing::vpcd_messages();
  options.on_frame = [this](const testing::RelayedFrame& m, testing::RelayOutput& out) { on_message(m, out); };
  options.single_link = true;  // one reader slot: a new card replaces whatever was there
  options.backlog = 4;
  proxy_ = std::make_unique<testing::FrameProxy>(vpcd_port, std::move(options));
}

std::vector<TappedApdu> VpcdTap::apdus() const {
  std::lock_guard lock(mutex_);
  return apdus_;
}

// The card is the proxy's client (card-sim connects to the tap), vpcd its target.
void VpcdTap::on_message(const testing::RelayedFrame& message, testing::RelayOutput& out) {
  if (message.connection + 1 != connection_) {
    connection_ = message.connection + 1;
    open_apdu_.reset();
    previous_ins_ = 0;
  }
  Bytes bytes = message.bytes;
  const std::size_t length = bytes.size() - 2;
  const bool from_card = message.direction == testing::Direction::ToTarget;
  if (!from_card && length > 1) {  // a command APDU (1 byte = power/reset/ATR control)
    std::lock_guard lock(mutex_);
    open_apdu_ = apdus_.size();
    apdus_.push_back({static_cast<int>(connection_), Bytes(bytes.begin() + 2, bytes.end()), {}});
  } else if (from_card && open_apdu_) {
    std::uint8_t ins = 0;
    {
      std::lock_guard lock(mutex_);
      auto& apdu = apdus_[*open_apdu_];
      apdu.response.assign(bytes.begin() + 2, bytes.end());
      ins = apdu.command.size() > 1 ? apdu.command[1] : 0;
    }
    open_apdu_.reset();
    // SRES is the first byte of the GET RESPONSE data that completes RUN GSM ALGORITHM.
    if (corrupt_ && ins == kInsGetResponse && previous_ins_ == kInsRunGsm && length > 2) {
      bytes[2] ^= 0x01;
      ++corrupted_;
    }
    previous_ins_ = ins;
  }
  out.forward(std::move(bytes));
}

}  // namespace cardperso::e2e
