#pragma once
// The ADS core (AdsHandshake) run in memory, the third core next to the counter's two
// (counter_cores.hpp): what it asks for is carried out here, its frames go to the DTD through the
// real codec, its retailer lookups are answered by the owner's directory. Shared by the proto
// harness and the load generator's session test.
#include <functional>
#include <optional>

#include "cardperso/proto/actions.hpp"
#include "cardperso/proto/ads_handshake.hpp"

namespace cardperso::testing {

struct AdsHooks {
  // A frame the ADS sends to the DTD, as the DTD reads it (after the codec). Required.
  std::function<void(proto::Frame)> to_dtd;
  // The directory's answer to a lookup; nullopt leaves it unanswered (a directory that never
  // replies). Required.
  std::function<std::optional<proto::RetailerLookup>(const proto::LookupRetailer&)> lookup;
  // Optional: everything else the core asks for (auth failures, established, deliver, close).
  std::function<void(proto::Action&)> on_action;
};

// Carries out `actions` of `ads` in order; an answered lookup's actions are carried out at once.
void run_ads_actions(proto::AdsHandshake& ads, proto::Actions actions, const AdsHooks& hooks, proto::TimePoint now);

}  // namespace cardperso::testing
