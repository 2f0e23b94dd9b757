#include "cardperso/testing/in_memory_ads.hpp"

#include "cardperso/testing/codec_round_trip.hpp"

namespace cardperso::testing {

void run_ads_actions(proto::AdsHandshake& ads, proto::Actions actions, const AdsHooks& hooks, proto::TimePoint now) {
  for (auto& action : actions) {
    if (auto* send = std::get_if<proto::SendFrame>(&action)) {
      hooks.to_dtd(through_codec(send->frame));
    } else if (auto* lookup = std::get_if<proto::LookupRetailer>(&action)) {
      if (auto answer = hooks.lookup(*lookup))
        run_ads_actions(ads, ads.on_retailer_lookup(std::move(*answer), now), hooks, now);
    } else if (hooks.on_action) {
      hooks.on_action(action);
    }
  }
}

}  // namespace cardperso::testing
