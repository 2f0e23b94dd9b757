// ShopSession (bench/loadgen) wired to a real AdsHandshake core in memory, every frame through the
// codec: the round trips the load generator asserts (2 for the handshake, 1 for the Terminate),
// the end of the session on both sides, and its failures (wrong retailer PIN, an ADS Error).
#include <gtest/gtest.h>

#include <optional>
#include <vector>

#include "cardperso/ads/store/card_codes.hpp"
#include "cardperso/cardsim/card_builders.hpp"
#include "cardperso/cardsim/sim_card.hpp"
#include "cardperso/proto/ads_handshake.hpp"
#include "cardperso/testing/codec_round_trip.hpp"
#include "cardperso/testing/in_memory_ads.hpp"
#include "cardperso/testing/test_keys.hpp"
#include "echo_baseline.hpp"
#include "fixture.hpp"
#include "load_run.hpp"
#include "shop_session.hpp"

namespace cardperso::bench {
namespace {

using proto::MessageType;

using cardperso::testing::counting_key;

struct InMemoryAds {
  proto::RetailerKeys keys;
  std::optional<proto::AdsHandshake> core;
  bool closed = false;
  std::optional<proto::ErrorCode> answer_h1_with_error;

  // One burst from the DTD in, the ADS's answer out.
  std::vector<proto::Frame> answer(const std::vector<proto::Frame>& burst) {
    std::vector<proto::Frame> replies;
    for (const auto& sent : burst) {
      const proto::Frame f = cardperso::testing::through_codec(sent);
      if (answer_h1_with_error) {
        replies.push_back(proto::make_frame(proto::Channel::SteAds, 0,
                                            proto::ErrorMessage::make(*answer_h1_with_error, "refused by the test")));
        continue;
      }
      if (!core) core.emplace(7);
      run(core->on_frame(f, now), replies);
    }
    return replies;
  }
  // Every lookup finds the shop's retailer active with `keys`.
  void run(proto::Actions actions, std::vector<proto::Frame>& replies) {
    cardperso::testing::AdsHooks hooks;
    hooks.to_dtd = [&replies](proto::Frame f) { replies.push_back(std::move(f)); };
    hooks.lookup = [this](const proto::LookupRetailer&) {
      return std::optional<proto::RetailerLookup>(
          proto::RetailerLookup{proto::RetailerStatus::Active, keys, proto::TerminalEnrolment::Active});
    };
    hooks.on_action = [this](proto::Action& a) {
      if (auto* c = std::get_if<proto::Close>(&a)) closed = c->code == proto::ErrorCode::None;
    };
    cardperso::testing::run_ads_actions(*core, std::move(actions), hooks, now);
  }
  proto::TimePoint now = proto::Clock::now();
};

struct Shop {
  cardsim::RetailerKeys card_keys;
  std::optional<cardsim::SimCard> card;
  proto::DtdRelay dtd;
  InMemoryAds ads;

  Shop() {
    card_keys.key_version = 1;
    card_keys.k_ra = counting_key(0x10);
    card_keys.k_ia = counting_key(0x30);
    card_keys.k_s = counting_key(0x50);
    card_keys.k_d = counting_key(0x70);
    const Bytes issuer_code(8, 0x42);
    card.emplace(cardsim::make_retailer_card("700000000001", "1234", "12345678", issuer_code, card_keys));
    ads.keys = proto::RetailerKeys{card_keys.k_ra, card_keys.k_ia, card_keys.k_s, card_keys.k_d};
  }

  // Runs the session to its end; returns the first message type of every burst (= round trip).
  std::vector<MessageType> run(ShopSession& s) {
    std::vector<MessageType> bursts;
    s.start(ads.now);
    for (int guard = 0; guard < 20 && !s.finished(); ++guard) {
      if (s.out().empty()) break;
      std::vector<proto::Frame> burst;
      burst.swap(s.out());
      bursts.push_back(*proto::to_message_type(burst.front().header.type));
      for (auto& reply : ads.answer(burst)) s.on_ads_frame(std::move(reply), ads.now);
    }
    return bursts;
  }
};

SessionPlan handshake_plan(std::string pin = "1234") {
  SessionPlan p;
  p.cards = 0;
  p.retailer_pin = std::move(pin);
  p.customer_tag = "t";
  return p;
}

TEST(LoadgenShopSession, HandshakeTakesTwoRoundTripsThenOneForTheTerminate) {
  Shop shop;
  ShopSession s(handshake_plan(), *shop.card, shop.dtd, [] { return std::optional<cardsim::SimCard>{}; });
  const auto bursts = shop.run(s);
  ASSERT_FALSE(s.failed()) << *s.error();
  EXPECT_TRUE(s.finished());
  EXPECT_TRUE(s.established_at().has_value());
  EXPECT_EQ(bursts, (std::vector<MessageType>{MessageType::H1, MessageType::H3, MessageType::Terminate}));
  EXPECT_TRUE(shop.ads.closed);
  EXPECT_EQ(shop.dtd.state(), proto::DtdRelay::State::Relaying);  // ready for the next session on the link

  // The next session on the same shop (same DTD relay, same retailer card) works the same way.
  ShopSession again(handshake_plan(), *shop.card, shop.dtd, [] { return std::optional<cardsim::SimCard>{}; });
  shop.ads.core.reset();
  EXPECT_EQ(shop.run(again).size(), 3U);
  EXPECT_FALSE(again.failed());
}

TEST(LoadgenShopSession, WrongRetailerPinFailsBeforeAnyFrame) {
  Shop shop;
  ShopSession s(handshake_plan("9999"), *shop.card, shop.dtd, [] { return std::optional<cardsim::SimCard>{}; });
  s.start(shop.ads.now);
  EXPECT_TRUE(s.failed());
  EXPECT_EQ(s.error_kind(), "retailer-card");
  EXPECT_TRUE(s.out().empty());
}

TEST(LoadgenShopSession, AnAdsErrorEndsTheSessionAsFailed) {
  Shop shop;
  shop.ads.answer_h1_with_error = proto::ErrorCode::Busy;
  ShopSession s(handshake_plan(), *shop.card, shop.dtd, [] { return std::optional<cardsim::SimCard>{}; });
  const auto bursts = shop.run(s);
  EXPECT_EQ(bursts.size(), 1U);
  EXPECT_TRUE(s.failed());
  EXPECT_TRUE(s.finished());
}

TEST(LoadgenRoundTrips, ExpectedCountsFollowTheCards) {
  const auto none = expected_round_trips(0);
  EXPECT_EQ(none.handshake, 2U);
  EXPECT_EQ(none.terminate, 1U);
  EXPECT_EQ(none.total(), 3U);
  const auto three = expected_round_trips(3);
  EXPECT_EQ(three.customer, 3U);
  EXPECT_EQ(three.card, 9U);  // P1/K1, K2/P2, P3/P4 per card
  EXPECT_EQ(three.total(), 15U);
}

TEST(LoadgenFixture, IccidsMatchWhatAdsctlImports) {
  for (std::uint64_t serial : {1ULL, 42ULL, 99999ULL, 12345678901ULL}) {
    const auto ours = batch_iccid("8988211", serial);
    const auto adsctl = ads::batch_iccid("8988211", serial);
    ASSERT_TRUE(adsctl.ok());
    EXPECT_EQ(ours, *adsctl);
    EXPECT_EQ(ours.size(), 19U);
  }
}

TEST(LoadgenEchoBaseline, ExchangesAreWrittenAsTheEchoBenchReadsThem) {
  EXPECT_EQ(exchanges_argument({{79, 68}, {64, 64}, {42, 42}}), "79:68,64:64,42:42");
  EXPECT_EQ(exchanges_argument({}), "");
}

}  // namespace
}  // namespace cardperso::bench
