// The DTD half of the link core, without sockets: the hello, keepalive, link timeout, session slot.
#include <gtest/gtest.h>

#include "cardperso/proto/dtd_link_core.hpp"
#include "cardperso/proto/link.hpp"

using namespace cardperso;
using namespace cardperso::proto;
using namespace std::chrono_literals;

namespace {

const TimePoint t0 = TimePoint{} + 1h;

TEST(DtdLinkCore, HelloOffersEveryVersionAndNamesTheDtd) {
  const auto frame = make_link_hello("shop-12");
  EXPECT_EQ(frame.header.channel, Channel::LinkControl);
  EXPECT_EQ(frame.header.type, static_cast<std::uint8_t>(MessageType::LinkHello));
  auto hello = LinkHello::decode(frame.payload);
  ASSERT_TRUE(hello.ok());
  EXPECT_EQ(hello->min_version, kMinSupportedVersion);
  EXPECT_EQ(hello->max_version, kMaxSupportedVersion);
  EXPECT_EQ(hello->node_id, "shop-12");
}

TEST(DtdLinkCore, HelloAnswerIsChecked) {
  auto ok = check_link_hello_answer(make_frame(Channel::LinkControl, 0, LinkHelloAck{kMaxSupportedVersion}));
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->version, kMaxSupportedVersion);

  auto mismatch = check_link_hello_answer(make_frame(Channel::LinkControl, 0, LinkHelloAck{kMaxSupportedVersion + 1}));
  ASSERT_FALSE(mismatch.ok());
  EXPECT_NE(mismatch.error().message.find("not offered"), std::string::npos) << mismatch.error().message;

  auto refused = check_link_hello_answer(make_frame(
      Channel::LinkControl, 0, ErrorMessage::make(ErrorCode::UnsupportedVersion, "no protocol version in common")));
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("the ADS refused the link"), std::string::npos) << refused.error().message;

  EXPECT_FALSE(check_link_hello_answer(make_frame(Channel::LinkControl, 0, Keepalive{})).ok());
}

TEST(DtdLinkCore, KeepaliveIsSentAfterSilenceOnOurSide) {
  DtdLinkCore core(10s, 45s);
  core.opened(t0);
  EXPECT_EQ(core.deadline(), t0 + 10s);
  EXPECT_TRUE(core.on_tick(t0 + 9s).empty());
  const auto actions = core.on_tick(t0 + 10s);
  const auto* keepalive = find_action<SendFrame>(actions);
  ASSERT_TRUE(keepalive);
  EXPECT_EQ(keepalive->to, Peer::Ads);
  EXPECT_EQ(keepalive->frame.header.type, static_cast<std::uint8_t>(MessageType::Keepalive));
  core.on_sent(t0 + 10s);
  EXPECT_TRUE(core.on_tick(t0 + 11s).empty());
  EXPECT_EQ(core.deadline(), t0 + 20s);
}

TEST(DtdLinkCore, SilenceFromTheAdsPastTheLinkTimeoutEndsTheLink) {
  DtdLinkCore core(10s, 45s);
  core.opened(t0);
  core.on_received(t0 + 20s);
  core.on_sent(t0 + 60s);
  EXPECT_FALSE(find_action<LinkDown>(core.on_tick(t0 + 64s)));
  const auto actions = core.on_tick(t0 + 65s);
  const auto* down = find_action<LinkDown>(actions);
  ASSERT_TRUE(down);
  EXPECT_EQ(down->why, "nothing received for 45000 ms");
  // A new link starts its timers afresh.
  core.opened(t0 + 70s);
  EXPECT_TRUE(core.on_tick(t0 + 71s).empty());
}

TEST(DtdLinkCore, SessionSlotHoldsOneSessionInFlight) {
  DtdLinkCore core(10s, 45s);
  EXPECT_FALSE(core.in_flight());
  core.h1_sent();
  ASSERT_TRUE(core.in_flight());
  EXPECT_EQ(*core.in_flight(), 0u);
  core.h2_received(42);
  EXPECT_EQ(*core.in_flight(), 42u);
  core.refused(41);  // another session's refusal leaves the slot alone
  EXPECT_EQ(*core.in_flight(), 42u);
  core.refused(42);
  EXPECT_FALSE(core.in_flight());

  core.h1_sent();
  core.refused(9);  // the ADS refused the H1 it had not named yet
  EXPECT_FALSE(core.in_flight());
  core.h1_sent();
  core.h2_received(43);
  core.session_over();
  EXPECT_FALSE(core.in_flight());
}

}  // namespace
