#include "cardperso/testing/counter_cores.hpp"

namespace cardperso::testing {

void CounterCores::from_ste(proto::Actions actions) {
  for (auto& action : actions) {
    if (auto* send = std::get_if<proto::SendFrame>(&action)) {
      // The STE has one link: the serial line to the DTD.
      if (cross(proto::Peer::Dtd, send->frame)) from_dtd(dtd_.on_ste_frame(std::move(send->frame)));
    } else {
      hand_over(proto::Peer::Ste, action);
    }
  }
  done();
}

void CounterCores::from_dtd(proto::Actions actions) {
  for (auto& action : actions) {
    if (auto* send = std::get_if<proto::SendFrame>(&action)) {
      if (send->to == proto::Peer::Ads)
        hooks_.to_ads(std::move(send->frame));
      else if (cross(proto::Peer::Ste, send->frame))
        from_ste(ste_.on_frame(send->frame, hooks_.now()));
    } else {
      hand_over(proto::Peer::Dtd, action);
    }
  }
  done();
}

}  // namespace cardperso::testing
