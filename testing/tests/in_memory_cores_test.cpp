// The in-memory wiring of the three cores on its own: the counter's STE and DTD relay cores
// (CounterCores) against the ADS core (run_ads_actions), every frame through the codec.
#include <gtest/gtest.h>

#include <optional>

#include "cardperso/testing/codec_round_trip.hpp"
#include "cardperso/testing/counter_cores.hpp"
#include "cardperso/testing/in_memory_ads.hpp"
#include "cardperso/testing/test_keys.hpp"

namespace cardperso::testing {
namespace {

struct Wired {
  proto::TimePoint now = proto::TimePoint{} + std::chrono::hours(1);
  proto::RetailerKeys keys = counting_retailer_keys(0x20);
  proto::SteHandshake ste;
  proto::DtdRelay dtd;
  std::optional<proto::AdsHandshake> ads;
  std::size_t lookups = 0, batches = 0;
  std::vector<proto::Peer> established;  // in the order the sides reported it

  CounterCores counter{ste, dtd, counter_hooks()};

  CounterHooks counter_hooks() {
    CounterHooks h;
    h.to_ads = [this](proto::Frame f) {
      if (!ads) ads.emplace(7);
      run_ads_actions(*ads, ads->on_frame(through_codec(f), now), ads_hooks(), now);
    };
    h.now = [this] { return now; };
    h.on_action = [this](proto::Peer from, proto::Action& a) {
      if (std::get_if<proto::SessionEstablished>(&a)) established.push_back(from);
    };
    h.after_batch = [this] { ++batches; };
    return h;
  }
  AdsHooks ads_hooks() {
    AdsHooks h;
    h.to_dtd = [this](proto::Frame f) { counter.from_ads(std::move(f)); };
    h.lookup = [this](const proto::LookupRetailer&) {
      ++lookups;
      return std::optional<proto::RetailerLookup>(
          proto::RetailerLookup{proto::RetailerStatus::Active, keys, proto::TerminalEnrolment::Active});
    };
    h.on_action = [this](proto::Action& a) {
      if (std::get_if<proto::SessionEstablished>(&a)) established.push_back(proto::Peer::Ads);
    };
    return h;
  }
};

TEST(InMemoryCores, AHandshakeEstablishesAllThreeSides) {
  Wired w;
  w.counter.from_ste(w.ste.start("8988211000000001", 1, w.keys, w.now));
  EXPECT_EQ(w.lookups, 1u);
  ASSERT_EQ(w.established.size(), 3u);
  EXPECT_EQ(w.ste.state(), proto::SteHandshake::State::Established);
  EXPECT_EQ(w.ads->state(), proto::AdsHandshake::State::Established);
  EXPECT_GT(w.batches, 0u);
}

TEST(InMemoryCores, ADroppedSerialFrameStopsTheHandshake) {
  Wired w;
  std::size_t dropped = 0;
  CounterHooks h = w.counter_hooks();
  h.on_serial = [&](proto::Peer to, proto::Frame&) {
    if (to == proto::Peer::Dtd) ++dropped;
    return to != proto::Peer::Dtd;
  };
  CounterCores counter(w.ste, w.dtd, h);
  counter.from_ste(w.ste.start("8988211000000001", 1, w.keys, w.now));
  EXPECT_EQ(dropped, 1u);  // H1 never reached the DTD
  EXPECT_FALSE(w.ads.has_value());
  EXPECT_TRUE(w.established.empty());
}

TEST(InMemoryCores, CountingKeysCountFromEachKeysStart) {
  EXPECT_EQ(to_hex(counting_key(0xfe, 3).view()), "fe0104070a0d101316191c1f2225282b");
  const proto::RetailerKeys k = counting_retailer_keys(0);
  EXPECT_EQ(to_hex(k.k_ra.view()), "000102030405060708090a0b0c0d0e0f");
  EXPECT_EQ(to_hex(k.k_ia.view()), "404142434445464748494a4b4c4d4e4f");
  EXPECT_EQ(to_hex(k.k_s.view()), "808182838485868788898a8b8c8d8e8f");
  EXPECT_EQ(to_hex(k.k_d.view()), "c0c1c2c3c4c5c6c7c8c9cacbcccdcecf");
}

TEST(InMemoryCores, AFrameComesBackWholeFromTheCodec) {
  proto::Frame f;
  f.header = ste_ads_header(proto::MessageType::Echo, 9);
  f.payload = Bytes{1, 2, 3};
  const proto::Frame back = through_codec(f);
  EXPECT_EQ(back.header.channel, proto::Channel::SteAds);
  EXPECT_EQ(back.header.type, static_cast<std::uint8_t>(proto::MessageType::Echo));
  EXPECT_EQ(back.header.session, 9u);
  EXPECT_EQ(back.payload, f.payload);
}

}  // namespace
}  // namespace cardperso::testing
