#pragma once
// Wires an STE core, a DTD relay core and an ADS core together in memory through the shared wiring
// (cardperso/testing/counter_cores.hpp and in_memory_ads.hpp); which ADS core a frame reaches is
// decided here. Every frame crosses the real codec (encode_frame + FrameDecoder). A test may act as
// a hostile DTD by altering, dropping or recording frames on the relay's two outgoing links.
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cardperso/common/crypto.hpp"
#include "cardperso/proto/ads_handshake.hpp"
#include "cardperso/proto/dtd_relay.hpp"
#include "cardperso/proto/ste_handshake.hpp"
#include "cardperso/testing/codec_round_trip.hpp"
#include "cardperso/testing/counter_cores.hpp"
#include "cardperso/testing/in_memory_ads.hpp"
#include "cardperso/testing/test_keys.hpp"

namespace cardperso::proto::testing {

inline RetailerKeys make_keys(std::uint8_t seed) { return cardperso::testing::counting_retailer_keys(seed); }

// Hands out queued 16-byte values, then real random bytes.
struct QueuedRandom {
  std::shared_ptr<std::deque<Bytes>> queue = std::make_shared<std::deque<Bytes>>();
  RandomSource source() const {
    auto q = queue;
    return [q](std::span<std::uint8_t> out) {
      if (!q->empty() && out.size() == q->front().size()) {
        std::copy(q->front().begin(), q->front().end(), out.begin());
        q->pop_front();
      } else {
        crypto::random_bytes(out);
      }
    };
  }
};

using cardperso::testing::through_codec;

struct Retailer {
  RetailerStatus status = RetailerStatus::Active;
  RetailerKeys keys;
};

// Which hop a frame is on: DTD->ADS, ADS->DTD (seen before the relay), DTD->STE.
enum class Hop { DtdToAds, AdsToDtd, DtdToSte };

struct Net {
  TimePoint now = TimePoint{} + std::chrono::hours(1);
  SteHandshake ste;
  DtdRelay dtd;
  std::optional<AdsHandshake> ads;
  std::uint32_t next_session = 42;
  RandomSource ads_random = default_random_source();
  std::map<std::string, Retailer> retailers;
  bool answer_lookups = true;
  // The issuer's view of the terminal named in H1: by default the test terminal is enrolled for
  // every card and any other device key is not.
  std::function<TerminalEnrolment(const LookupRetailer&)> terminal_status = [](const LookupRetailer& l) {
    return l.terminal == cardperso::testing::test_device_signer()->public_key() ? TerminalEnrolment::Active
                                                                                 : TerminalEnrolment::NotEnrolled;
  };

  // Return false to drop the frame. May alter it.
  std::function<bool(Hop, Frame&)> hostile;

  std::vector<Frame> log;  // every frame as delivered, in order
  std::size_t dtd_to_ads = 0, ads_to_dtd = 0;
  std::vector<Close> ste_closed, dtd_closed, ads_closed;
  std::vector<SessionEstablished> ste_up, dtd_up, ads_up;
  std::vector<Deliver> ste_got, dtd_got, ads_got;
  std::vector<RecordAuthFailure> auth_failures;
  std::vector<std::uint8_t> types_to_ste;  // message types that reached the STE

  explicit Net(Timeouts t = {}, RandomSource ste_random = default_random_source())
      : ste(t, std::move(ste_random)), counter(ste, dtd, counter_hooks()) {}
  Net(const Net&) = delete;  // the wiring's hooks point at this one
  Net& operator=(const Net&) = delete;

  void from_ste(Actions actions) { counter.from_ste(std::move(actions)); }
  void from_dtd(Actions actions) { counter.from_dtd(std::move(actions)); }

  void start(const std::string& serial, RetailerKeys keys, std::uint8_t key_version = 1) {
    from_ste(ste.start(serial, key_version, std::move(keys), now));
  }

  bool pass(Hop hop, Frame& f) { return !hostile || hostile(hop, f); }

  void deliver_to_ads(Frame f) {
    ++dtd_to_ads;
    if (!pass(Hop::DtdToAds, f)) return;
    f = through_codec(f);
    log.push_back(f);
    if (!ads || ads->state() == AdsHandshake::State::Closed) {
      if (f.header.session != 0) return;  // an adapter would answer UnknownSession; nothing to route to
      ads.emplace(next_session++, Timeouts{}, ads_random);
    }
    from_ads(ads->on_frame(f, now));
    // A refusal at H1 waits for its floor: the adapter's timer fires it; here the clock jumps there.
    if (ads->state() == AdsHandshake::State::Refusing && ads->deadline()) {
      refusal_waited = *ads->deadline() - now;
      now = *ads->deadline();
      from_ads(ads->on_timeout(now));
    }
  }
  std::optional<std::chrono::nanoseconds> refusal_waited;  // how long the last H1 refusal was held back

  // What the ADS core asks for; its frames go to the DTD.
  void from_ads(Actions actions) { cardperso::testing::run_ads_actions(*ads, std::move(actions), ads_hooks(), now); }

 private:
  // Every frame crosses the codec as it is sent; the DTD's frames for the STE may be altered or
  // dropped, the STE's for the DTD are only logged.
  cardperso::testing::CounterHooks counter_hooks() {
    cardperso::testing::CounterHooks h;
    h.to_ads = [this](Frame f) { deliver_to_ads(through_codec(f)); };
    h.now = [this] { return now; };
    h.on_action = [this](Peer from, Action& action) { record(from, action); };
    h.on_serial = [this](Peer to, Frame& f) {
      f = through_codec(f);
      if (to == Peer::Ste) {
        if (!pass(Hop::DtdToSte, f)) return false;
        log.push_back(f);
        types_to_ste.push_back(f.header.type);
      } else {
        log.push_back(f);
      }
      return true;
    };
    return h;
  }

  // The ADS's frames may be altered or dropped on their way to the DTD; lookups are answered from
  // `retailers` unless answer_lookups is off.
  cardperso::testing::AdsHooks ads_hooks() {
    cardperso::testing::AdsHooks h;
    h.to_dtd = [this](Frame f) {
      ++ads_to_dtd;
      if (!pass(Hop::AdsToDtd, f)) return;
      log.push_back(f);
      counter.from_ads(std::move(f));
    };
    h.lookup = [this](const LookupRetailer& lookup) -> std::optional<RetailerLookup> {
      if (!answer_lookups) return std::nullopt;
      RetailerLookup r;
      auto it = retailers.find(lookup.serial);
      if (it != retailers.end()) r = RetailerLookup{it->second.status, it->second.keys};
      r.terminal = terminal_status(lookup);
      return r;
    };
    h.on_action = [this](Action& action) { record(Peer::Ads, action); };
    return h;
  }

  void record(Peer from, Action& action) {
    if (auto* failure = std::get_if<RecordAuthFailure>(&action)) {
      auth_failures.push_back(*failure);
    } else if (auto* up = std::get_if<SessionEstablished>(&action)) {
      (from == Peer::Ste ? ste_up : from == Peer::Dtd ? dtd_up : ads_up).push_back(*up);
    } else if (auto* got = std::get_if<Deliver>(&action)) {
      (from == Peer::Ste ? ste_got : from == Peer::Dtd ? dtd_got : ads_got).push_back(std::move(*got));
    } else if (auto* close = std::get_if<Close>(&action)) {
      (from == Peer::Ste ? ste_closed : from == Peer::Dtd ? dtd_closed : ads_closed).push_back(*close);
    }
  }

  cardperso::testing::CounterCores counter;
};

}  // namespace cardperso::proto::testing
