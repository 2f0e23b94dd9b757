// A complete handshake between the STE core and the ADS core in memory: H1..H4 through the real
// frame codec, the retailer lookup answered at once, both sides confirmed. No DTD relay, no I/O.
#include <benchmark/benchmark.h>

#include <deque>

#include "cardperso/proto/ads_handshake.hpp"
#include "cardperso/proto/ste_handshake.hpp"
#include "cardperso/testing/codec_round_trip.hpp"
#include "cardperso/testing/test_keys.hpp"

namespace {

using namespace cardperso;
using namespace cardperso::proto;

using cardperso::testing::through_codec;

RetailerKeys retailer_keys() { return cardperso::testing::counting_retailer_keys(0); }

struct Outcome {
  bool ste_up = false;
  bool ads_up = false;
  bool closed = false;
  std::size_t wire_bytes = 0;
};

// Carries out one side's actions; channel-1 frames go to the other core's queue, the STE's L1
// handover (for the DTD) is dropped.
void route(Actions actions, std::deque<Frame>& to_peer, AdsHandshake* ads, const RetailerKeys& keys, TimePoint now,
           bool from_ste, Outcome& out) {
  std::deque<Actions> work;
  work.push_back(std::move(actions));
  while (!work.empty()) {
    Actions batch = std::move(work.front());
    work.pop_front();
    for (auto& action : batch) {
      if (auto* send = std::get_if<SendFrame>(&action)) {
        if (send->frame.header.channel != Channel::SteAds) continue;
        out.wire_bytes += kHeaderSize + send->frame.payload.size();
        to_peer.push_back(std::move(send->frame));
      } else if (std::get_if<LookupRetailer>(&action) != nullptr && ads != nullptr) {
        work.push_back(ads->on_retailer_lookup(RetailerLookup{RetailerStatus::Active, keys, TerminalEnrolment::Active}, now));
      } else if (std::get_if<SessionEstablished>(&action) != nullptr) {
        (from_ste ? out.ste_up : out.ads_up) = true;
      } else if (std::get_if<Close>(&action) != nullptr) {
        out.closed = true;
      }
    }
  }
}

Outcome one_handshake(std::uint32_t session_id) {
  const TimePoint now = Clock::now();
  const RetailerKeys keys = retailer_keys();
  SteHandshake ste;
  ste.pair(cardperso::testing::test_pairing_key());
  ste.identify(cardperso::testing::test_device_signer());
  AdsHandshake ads(session_id);
  FrameDecoder at_ads, at_ste;
  std::deque<Frame> to_ads, to_ste;
  Outcome out;
  route(ste.start("8988211000000001", 1, retailer_keys(), now), to_ads, nullptr, keys, now, true, out);
  while (!out.closed && (!to_ads.empty() || !to_ste.empty())) {
    if (!to_ads.empty()) {
      Frame f = through_codec(to_ads.front(), at_ads);
      to_ads.pop_front();
      route(ads.on_frame(f, now), to_ste, &ads, keys, now, false, out);
    }
    if (!to_ste.empty()) {
      Frame f = through_codec(to_ste.front(), at_ste);
      to_ste.pop_front();
      route(ste.on_frame(f, now), to_ads, nullptr, keys, now, true, out);
    }
  }
  return out;
}

void BM_HandshakeInMemory(benchmark::State& state) {
  std::uint32_t session = 1;
  std::size_t bytes = 0;
  for (auto _ : state) {
    const Outcome out = one_handshake(session++);
    if (!out.ste_up || !out.ads_up || out.closed) {
      state.SkipWithError("the in-memory handshake did not establish both sides");
      break;
    }
    bytes = out.wire_bytes;
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(bytes));
  state.counters["wire_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_HandshakeInMemory);

}  // namespace
