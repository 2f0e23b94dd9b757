// The ADS half of the link core, without sockets: frames and time in, frames and actions out.
#include <gtest/gtest.h>

#include "cardperso/proto/ads_link_core.hpp"
#include "cardperso/proto/link.hpp"
#include "cardperso/proto/terminal_status.hpp"

using namespace cardperso;
using namespace cardperso::proto;
using namespace std::chrono_literals;

namespace {

const TimePoint t0 = TimePoint{} + 1h;

Frame hello(std::uint8_t min_version = kMinSupportedVersion, std::uint8_t max_version = kMaxSupportedVersion) {
  return make_frame(Channel::LinkControl, 0, LinkHello{min_version, max_version, "dtd-7"});
}

Frame typed(Channel channel, std::uint32_t session, MessageType type) {
  Frame f;
  f.header.channel = channel;
  f.header.session = session;
  f.header.type = static_cast<std::uint8_t>(type);
  return f;
}

Frame h1() { return typed(Channel::SteAds, 0, MessageType::H1); }

std::vector<Frame> sent(const LinkActions& actions) {
  std::vector<Frame> out;
  for (const auto& a : actions)
    if (const auto* s = std::get_if<SendFrame>(&a)) out.push_back(s->frame);
  return out;
}

ErrorCode error_code_of(const Frame& f) {
  EXPECT_EQ(f.header.type, static_cast<std::uint8_t>(MessageType::Error));
  auto err = ErrorMessage::decode(f.payload);
  return err ? err->code : ErrorCode::None;
}

struct AdsLinkCoreTest : ::testing::Test {
  AdsLinkOptions options{.hello_timeout = 10s, .keepalive_interval = 30s, .link_timeout = 90s, .max_sessions = 2};
  std::uint32_t next = 100;
  AdsLinkCore core{options, "10.0.0.9:4000", [this] { return next++; }, t0};

  void open() {
    auto up = core.on_frame(hello(), t0);
    ASSERT_TRUE(find_action<LinkUp>(up));
  }
};

TEST_F(AdsLinkCoreTest, HelloIsAnsweredWithTheHighestCommonVersion) {
  EXPECT_EQ(core.state(), AdsLinkCore::State::AwaitHello);
  const auto actions = core.on_frame(hello(), t0 + 1s);
  const auto frames = sent(actions);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].header.type, static_cast<std::uint8_t>(MessageType::LinkHelloAck));
  auto ack = LinkHelloAck::decode(frames[0].payload);
  ASSERT_TRUE(ack.ok());
  EXPECT_EQ(ack->version, kMaxSupportedVersion);
  const auto* up = find_action<LinkUp>(actions);
  ASSERT_TRUE(up);
  EXPECT_EQ(up->node_id, "dtd-7");
  EXPECT_EQ(core.state(), AdsLinkCore::State::Open);
  EXPECT_EQ(core.dtd_name(), "dtd-7");
  EXPECT_FALSE(find_action<LinkDown>(actions));
  // The name is reported as what it is, a claim; the link is named by its address.
  const auto* line = find_action<LinkLog>(actions);
  ASSERT_TRUE(line);
  EXPECT_EQ(line->text, "DTD at 10.0.0.9:4000 connected (protocol version " + std::to_string(kMaxSupportedVersion) +
                            "); it calls itself 'dtd-7', a name nothing authenticates");
}

TEST_F(AdsLinkCoreTest, VersionMismatchIsRefusedAndClosesTheLink) {
  const auto actions = core.on_frame(hello(kMaxSupportedVersion + 1, kMaxSupportedVersion + 3), t0);
  const auto frames = sent(actions);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(error_code_of(frames[0]), ErrorCode::UnsupportedVersion);
  EXPECT_TRUE(find_action<LinkDown>(actions));
  EXPECT_FALSE(find_action<LinkUp>(actions));
  EXPECT_EQ(core.state(), AdsLinkCore::State::Closed);
}

// Version 1 (no forward secrecy) is no longer negotiated: a DTD that speaks only it is refused.
TEST_F(AdsLinkCoreTest, VersionOneOnlyIsRefused) {
  static_assert(kMinSupportedVersion == 2);
  const auto actions = core.on_frame(hello(1, 1), t0);
  const auto frames = sent(actions);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(error_code_of(frames[0]), ErrorCode::UnsupportedVersion);
  EXPECT_EQ(core.state(), AdsLinkCore::State::Closed);
}

TEST_F(AdsLinkCoreTest, TheLinkMustStartWithLinkHello) {
  const auto actions = core.on_frame(h1(), t0);
  const auto frames = sent(actions);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(error_code_of(frames[0]), ErrorCode::UnexpectedMessage);
  EXPECT_TRUE(find_action<LinkDown>(actions));
}

TEST_F(AdsLinkCoreTest, NoHelloWithinTheHelloTimeoutClosesTheLink) {
  EXPECT_EQ(core.deadline(), t0 + 10s);
  EXPECT_TRUE(core.on_tick(t0 + 9s).empty());
  const auto actions = core.on_tick(t0 + 10s);
  EXPECT_TRUE(find_action<LinkDown>(actions));
  EXPECT_TRUE(sent(actions).empty());
  EXPECT_EQ(core.state(), AdsLinkCore::State::Closed);
}

TEST_F(AdsLinkCoreTest, KeepaliveIsSentAfterSilenceOnOurSide) {
  open();
  EXPECT_EQ(core.deadline(), t0 + 30s);
  EXPECT_TRUE(core.on_tick(t0 + 29s).empty());
  const auto frames = sent(core.on_tick(t0 + 30s));
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].header.type, static_cast<std::uint8_t>(MessageType::Keepalive));
  EXPECT_EQ(frames[0].header.channel, Channel::LinkControl);
  core.on_sent(t0 + 30s);
  EXPECT_EQ(core.deadline(), t0 + 60s);
  EXPECT_TRUE(core.on_tick(t0 + 31s).empty());
  // A Keepalive from the DTD needs no answer.
  EXPECT_TRUE(core.on_frame(make_frame(Channel::LinkControl, 0, Keepalive{}), t0 + 31s).empty());
}

TEST_F(AdsLinkCoreTest, SilenceFromTheDtdPastTheLinkTimeoutClosesTheLink) {
  open();
  core.on_frame(make_frame(Channel::LinkControl, 0, Keepalive{}), t0 + 50s);  // restarts the link timeout
  for (auto at = t0 + 60s; at < t0 + 140s; at += 30s) {
    core.on_sent(at);
    EXPECT_FALSE(find_action<LinkDown>(core.on_tick(at)));
  }
  const auto actions = core.on_tick(t0 + 140s);
  const auto* down = find_action<LinkDown>(actions);
  ASSERT_TRUE(down);
  EXPECT_EQ(down->why, "link timeout");
  EXPECT_TRUE(sent(actions).empty());
}

TEST_F(AdsLinkCoreTest, SessionLimitRefusesAnH1WithBusyUntilASessionEnds) {
  open();
  const auto first = core.on_frame(h1(), t0);
  const auto* a = find_action<SessionFrame>(first);
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->opened);
  EXPECT_EQ(a->session, 100u);
  const auto second = core.on_frame(h1(), t0);
  const auto* b = find_action<SessionFrame>(second);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->session, 101u);

  const auto refused = core.on_frame(h1(), t0);
  EXPECT_FALSE(find_action<SessionFrame>(refused));
  const auto frames = sent(refused);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(error_code_of(frames[0]), ErrorCode::Busy);
  EXPECT_EQ(frames[0].header.session, 0u);
  EXPECT_EQ(core.sessions().size(), 2u);

  core.session_ended(100);
  const auto third = core.on_frame(h1(), t0);
  const auto* c = find_action<SessionFrame>(third);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->session, 102u);
}

TEST_F(AdsLinkCoreTest, FramesGoToTheirSessionAndUnknownSessionsAreRefused) {
  open();
  core.on_frame(h1(), t0);
  const auto actions = core.on_frame(typed(Channel::SteAds, 100, MessageType::H3), t0);
  const auto* routed = find_action<SessionFrame>(actions);
  ASSERT_TRUE(routed);
  EXPECT_FALSE(routed->opened);
  EXPECT_EQ(routed->session, 100u);

  const auto unknown = sent(core.on_frame(typed(Channel::DtdAds, 7, MessageType::AppData), t0));
  ASSERT_EQ(unknown.size(), 1u);
  EXPECT_EQ(error_code_of(unknown[0]), ErrorCode::UnknownSession);
  EXPECT_EQ(unknown[0].header.session, 7u);
  // An Error about an unknown session is not answered (no ping-pong).
  EXPECT_TRUE(sent(core.on_frame(typed(Channel::SteAds, 7, MessageType::Error), t0)).empty());
  core.session_ended(100);
  EXPECT_FALSE(find_action<SessionFrame>(core.on_frame(typed(Channel::SteAds, 100, MessageType::H3), t0)));
}

TEST_F(AdsLinkCoreTest, ChannelZeroAfterTheHello) {
  open();
  const auto unexpected = core.on_frame(hello(), t0);
  ASSERT_EQ(sent(unexpected).size(), 1u);
  EXPECT_EQ(error_code_of(sent(unexpected)[0]), ErrorCode::UnexpectedMessage);
  EXPECT_FALSE(find_action<LinkDown>(unexpected));

  const auto error = core.on_frame(make_frame(Channel::LinkControl, 0, ErrorMessage::make(ErrorCode::Internal, "bye")), t0);
  const auto* down = find_action<LinkDown>(error);
  ASSERT_TRUE(down);
  EXPECT_EQ(down->why, "peer closed");
  EXPECT_EQ(core.state(), AdsLinkCore::State::Closed);
}

// TerminalStatus is for the STE's local link only: a DTD that sends one to the ADS is told so
// (Error 14 on channel 0); the link and its sessions carry on.
TEST_F(AdsLinkCoreTest, TerminalStatusFromADtdIsRefused) {
  open();
  core.on_frame(h1(), t0);
  const auto actions =
      core.on_frame(make_frame(Channel::LinkControl, 0, TerminalStatus::of(TerminalPrompt::Ready)), t0 + 1s);
  const auto frames = sent(actions);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].header.channel, Channel::LinkControl);
  EXPECT_EQ(frames[0].header.session, 0u);
  EXPECT_EQ(error_code_of(frames[0]), ErrorCode::UnexpectedMessage);
  EXPECT_EQ(static_cast<int>(ErrorCode::UnexpectedMessage), 14);
  EXPECT_FALSE(find_action<SessionFrame>(actions));
  EXPECT_FALSE(find_action<LinkDown>(actions));
  const auto* line = find_action<LinkLog>(actions);
  ASSERT_TRUE(line);
  EXPECT_NE(line->text.find("unexpected TerminalStatus on channel 0"), std::string::npos) << line->text;
  EXPECT_EQ(core.state(), AdsLinkCore::State::Open);
  EXPECT_EQ(core.sessions().size(), 1u);
  // Malformed or not, the answer is the same: nothing of it is read.
  Frame junk = typed(Channel::LinkControl, 0, MessageType::TerminalStatus);
  junk.payload = Bytes{0xff};
  junk.header.length = 1;
  const auto again = sent(core.on_frame(junk, t0 + 2s));
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(error_code_of(again[0]), ErrorCode::UnexpectedMessage);
}

TEST(AdsLinkCoreHello, TerminalStatusInPlaceOfTheHelloClosesTheLink) {
  std::uint32_t next = 1;
  AdsLinkCore core({}, "10.0.0.9:4000", [&next] { return next++; }, t0);
  const auto actions =
      core.on_frame(make_frame(Channel::LinkControl, 0, TerminalStatus::writing(1, 2)), t0);
  const auto frames = sent(actions);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(error_code_of(frames[0]), ErrorCode::UnexpectedMessage);
  EXPECT_TRUE(find_action<LinkDown>(actions));
  EXPECT_EQ(core.state(), AdsLinkCore::State::Closed);
}

TEST_F(AdsLinkCoreTest, AFailedReadClosesTheLink) {
  open();
  const auto actions = core.on_read_failed("garbage", true);
  const auto* down = find_action<LinkDown>(actions);
  ASSERT_TRUE(down);
  EXPECT_EQ(down->why, "bad frame");
}

}  // namespace

// A link may start max_handshakes_per_minute H1s at once, then one more per 60/max seconds; beyond,
// an H1 is refused Busy before any session exists, with one warning line for the run of refusals.
// An open link with this handshake rate and room for many sessions.
struct RateLimitedLink {
  explicit RateLimitedLink(std::size_t per_minute)
      : core({.hello_timeout = 10s, .keepalive_interval = 30s, .link_timeout = 90s, .max_sessions = 1000,
              .max_handshakes_per_minute = per_minute},
             "10.0.0.9:4000", [this] { return next++; }, t0) {
    EXPECT_TRUE(find_action<LinkUp>(core.on_frame(hello(), t0)));
  }
  std::uint32_t next = 1;
  AdsLinkCore core;
};

TEST(AdsLinkCoreRate, HandshakesPerLinkAreBounded) {
  RateLimitedLink link(6);
  AdsLinkCore& core = link.core;
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(find_action<SessionFrame>(core.on_frame(h1(), t0))) << i;
  const auto refused = core.on_frame(h1(), t0);
  EXPECT_FALSE(find_action<SessionFrame>(refused));
  ASSERT_EQ(sent(refused).size(), 1u);
  EXPECT_EQ(error_code_of(sent(refused)[0]), ErrorCode::Busy);
  EXPECT_TRUE(find_action<LinkLog>(refused));
  const auto quiet = core.on_frame(h1(), t0 + 1s);  // still refused, no second warning within the minute
  EXPECT_FALSE(find_action<SessionFrame>(quiet));
  EXPECT_FALSE(find_action<LinkLog>(quiet));
  EXPECT_TRUE(find_action<SessionFrame>(core.on_frame(h1(), t0 + 11s)));  // 10 s bring one H1 back
  EXPECT_FALSE(find_action<SessionFrame>(core.on_frame(h1(), t0 + 12s)));
  EXPECT_EQ(core.sessions().size(), 7u);
}

TEST(AdsLinkCoreRate, ZeroMeansNoLimit) {
  RateLimitedLink link(0);
  for (int i = 0; i < 500; ++i) ASSERT_TRUE(find_action<SessionFrame>(link.core.on_frame(h1(), t0))) << i;
}
