#include "cardperso/proto/dtd_link_core.hpp"

#include <fmt/format.h>

#include "cardperso/proto/link.hpp"

namespace cardperso::proto {

Frame make_link_hello(const std::string& node_id) {
  LinkHello hello;
  hello.min_version = kMinSupportedVersion;
  hello.max_version = kMaxSupportedVersion;
  hello.node_id = node_id;
  return make_frame(Channel::LinkControl, 0, hello);
}

Result<LinkHelloAck> check_link_hello_answer(const Frame& answer) {
  const auto type = to_message_type(answer.header.type);
  if (answer.header.channel == Channel::LinkControl && type == MessageType::Error) {
    auto err = ErrorMessage::decode(answer.payload);
    return fail("the ADS refused the link: " +
                (err ? err->text + " (" + std::string(describe(err->code)) + ")" : err.error().message));
  }
  if (answer.header.channel != Channel::LinkControl || type != MessageType::LinkHelloAck)
    return fail("the ADS answered LinkHello with something other than LinkHelloAck");
  auto ack = LinkHelloAck::decode(answer.payload);
  if (!ack) return fail("malformed LinkHelloAck: " + ack.error().message);
  if (auto checked = check_hello_ack(*ack); !checked) return checked.error();
  return ack;
}

LinkActions DtdLinkCore::on_tick(TimePoint now) {
  switch (liveness_.due(now)) {
    case LinkLiveness::Due::Nothing: return {};
    case LinkLiveness::Due::Keepalive:
      return {SendFrame{Peer::Ads, make_frame(Channel::LinkControl, 0, Keepalive{})}};
    case LinkLiveness::Due::Dead: break;
  }
  return {LinkDown{fmt::format("nothing received for {} ms", liveness_.timeout().count())}};
}

void DtdLinkCore::refused(std::uint32_t session) {
  if (in_flight_ && (*in_flight_ == session || session == 0 || *in_flight_ == 0)) in_flight_.reset();
}

}  // namespace cardperso::proto
