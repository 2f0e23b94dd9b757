#pragma once
// The two cores of a retailer's counter wired together in memory: the STE core (SteHandshake) and
// the DTD relay core (DtdRelay), as ste-firmware and dtd-agent wire them over their serial link.
// The wiring carries the frames between the two and hands the DTD's frames for the ADS to its
// owner; everything else the cores ask for (established, deliver, close, link messages) goes to the
// owner too, tagged with the side it came from. Where the ADS is (in memory, over TCP) is the
// owner's business. Shared by the proto harness, the ADS daemon tests and the load generator.
#include <functional>

#include "cardperso/testing/test_keys.hpp"
#include "cardperso/proto/actions.hpp"
#include "cardperso/proto/dtd_relay.hpp"
#include "cardperso/proto/ste_handshake.hpp"

namespace cardperso::testing {

struct CounterHooks {
  // A frame the DTD sends to the ADS (required).
  std::function<void(proto::Frame)> to_ads;
  // What the STE core is told the time is when a frame reaches it (required).
  std::function<proto::TimePoint()> now;
  // Every action other than a frame between the STE and the DTD or a frame for the ADS; `from` is
  // Peer::Ste or Peer::Dtd. May feed the cores again (reply, send, terminate).
  std::function<void(proto::Peer from, proto::Action& action)> on_action;
  // Optional: a frame about to cross the serial link to `to` (Peer::Dtd or Peer::Ste). May alter
  // it; false drops it.
  std::function<bool(proto::Peer to, proto::Frame& frame)> on_serial;
  // Optional: after each batch of actions is carried out, nested batches included.
  std::function<void()> after_batch;
};

class CounterCores {
 public:
  // The cores belong to the owner and outlive the wiring. They are paired with test_pairing_key(),
  // as a terminal and the DTD it is cabled to are; an STE the owner has not given a device key gets
  // test_device_signer().
  CounterCores(proto::SteHandshake& ste, proto::DtdRelay& dtd, CounterHooks hooks)
      : ste_(ste), dtd_(dtd), hooks_(std::move(hooks)) {
    ste_.pair(test_pairing_key());
    dtd_.pair(test_pairing_key());
    if (!ste_.identified()) ste_.identify(test_device_signer());
  }
  CounterCores(const CounterCores&) = delete;
  CounterCores& operator=(const CounterCores&) = delete;

  // Carry out what the STE core or the DTD core returned.
  void from_ste(proto::Actions actions);
  void from_dtd(proto::Actions actions);
  // A frame read from the ADS link.
  void from_ads(proto::Frame frame) { from_dtd(dtd_.on_ads_frame(std::move(frame))); }

 private:
  bool cross(proto::Peer to, proto::Frame& frame) { return !hooks_.on_serial || hooks_.on_serial(to, frame); }
  void done() {
    if (hooks_.after_batch) hooks_.after_batch();
  }
  void hand_over(proto::Peer from, proto::Action& action) {
    if (hooks_.on_action) hooks_.on_action(from, action);
  }

  proto::SteHandshake& ste_;
  proto::DtdRelay& dtd_;
  CounterHooks hooks_;
};

}  // namespace cardperso::testing
