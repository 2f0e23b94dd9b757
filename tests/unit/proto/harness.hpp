#pragma once
// Wires an STE core, a DTD relay core and an ADS core together in memory. Every frame crosses the
// real codec (encode_frame + FrameDecoder). A test may act as a hostile DTD by altering, dropping or
// recording frames on the relay's two outgoing links.
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

namespace cardperso::proto::testing {

inline RetailerKeys make_keys(std::uint8_t seed) {
  RetailerKeys k;
  auto fill = [](std::uint8_t start) {
    Bytes b(16);
    for (std::size_t i = 0; i < 16; ++i) b[i] = static_cast<std::uint8_t>(start + i);
    return SecretBytes(b);
  };
  k.k_ra = fill(seed);
  k.k_ia = fill(static_cast<std::uint8_t>(seed + 0x40));
  k.k_s = fill(static_cast<std::uint8_t>(seed + 0x80));
  k.k_d = fill(static_cast<std::uint8_t>(seed + 0xc0));
  return k;
}

// Hands out queued 16-byte values, then real random bytes.
struct QueuedRandom {
  std::shared_ptr<std::deque<Block16>> queue = std::make_shared<std::deque<Block16>>();
  RandomSource source() const {
    auto q = queue;
    return [q](std::span<std::uint8_t> out) {
      if (!q->empty() && out.size() == 16) {
        std::copy(q->front().begin(), q->front().end(), out.begin());
        q->pop_front();
      } else {
        crypto::random_bytes(out);
      }
    };
  }
};

inline Frame through_codec(const Frame& f) {
  FrameDecoder d;
  d.feed(encode_frame(f.header, f.payload));
  auto r = d.next();
  if (!r || !*r) throw std::runtime_error("frame did not survive the codec");
  return std::move(**r);
}

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

  // Return false to drop the frame. May alter it.
  std::function<bool(Hop, Frame&)> hostile;

  std::vector<Frame> log;  // every frame as delivered, in order
  std::size_t dtd_to_ads = 0, ads_to_dtd = 0;
  std::vector<Close> ste_closed, dtd_closed, ads_closed;
  std::vector<SessionEstablished> ste_up, dtd_up, ads_up;
  std::vector<Deliver> ste_got, dtd_got, ads_got;
  std::vector<RecordAuthFailure> auth_failures;
  std::vector<std::uint8_t> types_to_ste;  // message types that reached the STE

  explicit Net(Timeouts t = {}, RandomSource ste_random = default_random_source()) : ste(t, std::move(ste_random)) {}

  void from_ste(Actions actions) { run(Peer::Ste, std::move(actions)); }
  void from_dtd(Actions actions) { run(Peer::Dtd, std::move(actions)); }
  void from_ads(Actions actions) { run(Peer::Ads, std::move(actions)); }

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
  }

  void run(Peer from, Actions actions) {
    for (auto& action : actions) {
      if (auto* send = std::get_if<SendFrame>(&action)) {
        Frame f = through_codec(send->frame);
        if (from == Peer::Ste) {
          log.push_back(f);
          from_dtd(dtd.on_ste_frame(std::move(f)));
        } else if (from == Peer::Dtd && send->to == Peer::Ads) {
          deliver_to_ads(std::move(f));
        } else if (from == Peer::Dtd && send->to == Peer::Ste) {
          if (!pass(Hop::DtdToSte, f)) continue;
          log.push_back(f);
          types_to_ste.push_back(f.header.type);
          from_ste(ste.on_frame(f, now));
        } else if (from == Peer::Ads) {
          ++ads_to_dtd;
          if (!pass(Hop::AdsToDtd, f)) continue;
          log.push_back(f);
          from_dtd(dtd.on_ads_frame(std::move(f)));
        }
      } else if (auto* lookup = std::get_if<LookupRetailer>(&action)) {
        if (!answer_lookups) continue;
        RetailerLookup r;
        auto it = retailers.find(lookup->serial);
        if (it != retailers.end()) r = RetailerLookup{it->second.status, it->second.keys};
        from_ads(ads->on_retailer_lookup(std::move(r), now));
      } else if (auto* failure = std::get_if<RecordAuthFailure>(&action)) {
        auth_failures.push_back(*failure);
      } else if (auto* up = std::get_if<SessionEstablished>(&action)) {
        (from == Peer::Ste ? ste_up : from == Peer::Dtd ? dtd_up : ads_up).push_back(*up);
      } else if (auto* got = std::get_if<Deliver>(&action)) {
        (from == Peer::Ste ? ste_got : from == Peer::Dtd ? dtd_got : ads_got).push_back(std::move(*got));
      } else if (auto* close = std::get_if<Close>(&action)) {
        (from == Peer::Ste ? ste_closed : from == Peer::Dtd ? dtd_closed : ads_closed).push_back(*close);
      }
    }
  }
};

}  // namespace cardperso::proto::testing
