#pragma once
// A relay on the card's contacts: card-sim connects here (--vpcd-port) instead of to vpcd, and the tap
// forwards the vpcd messages (2-byte length + payload, both ways) to vpcd on 127.0.0.1:35963, keeping
// every command APDU and its answer. A test can then say exactly which APDUs reached the card (e.g.
// "nothing beyond reading the ICCID").
//
// It can also act as a counterfeit card: with corrupt_gsm_answer() it flips one bit of the SRES in
// the GET RESPONSE that follows a RUN GSM ALGORITHM. A card's answer altered on its contacts is a real
// fault (a clone, a tampered card) that no honest card-sim can produce, and the ADS must reject the
// proof. A FrameProxy in vpcd framing with one reader slot: one card connection at a time, any
// number in sequence.
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "cardperso/common/bytes.hpp"
#include "cardperso/testing/frame_proxy.hpp"

namespace cardperso::e2e {

struct TappedApdu {
  int connection = 0;  // 1 for the first card connection, 2 after a re-insertion, ...
  Bytes command;
  Bytes response;  // data || SW1 SW2 as the card sent it (before any corruption)
};

class VpcdTap {
 public:
  explicit VpcdTap(int vpcd_port = 35963);
  VpcdTap(const VpcdTap&) = delete;
  VpcdTap& operator=(const VpcdTap&) = delete;

  int port() const { return proxy_->port(); }
  void corrupt_gsm_answer() { corrupt_ = true; }
  int corrupted_count() const { return corrupted_; }
  std::vector<TappedApdu> apdus() const;

 private:
  void on_message(const testing::RelayedFrame& message, testing::RelayOutput& out);

  std::atomic<bool> corrupt_{false};
  std::atomic<int> corrupted_{0};
  mutable std::mutex mutex_;
  std::vector<TappedApdu> apdus_;
  // The current card connection's state (proxy thread only).
  std::size_t connection_ = 0;
  std::optional<std::size_t> open_apdu_;  // index into apdus_ awaiting its answer
  std::uint8_t previous_ins_ = 0;
  std::unique_ptr<testing::FrameProxy> proxy_;  // last: stopped before the state above goes
};

}  // namespace cardperso::e2e
