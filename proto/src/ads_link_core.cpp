#include "cardperso/proto/ads_link_core.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "cardperso/proto/link.hpp"

namespace cardperso::proto {

namespace {

bool is(const Frame& f, MessageType t) { return f.header.type == static_cast<std::uint8_t>(t); }

SendFrame error_to_dtd(Channel channel, std::uint32_t session, ErrorCode code, std::string_view text) {
  return SendFrame{Peer::Dtd, make_frame(channel, session, ErrorMessage::make(code, text))};
}

LinkLog warn(std::string text) { return LinkLog{LinkLog::Level::Warn, std::move(text)}; }
LinkLog info(std::string text) { return LinkLog{LinkLog::Level::Info, std::move(text)}; }
LinkLog debug(std::string text) { return LinkLog{LinkLog::Level::Debug, std::move(text)}; }

}  // namespace

AdsLinkCore::AdsLinkCore(AdsLinkOptions options, std::string peer, SessionIdSource next_id, TimePoint now)
    : options_(options),
      peer_(std::move(peer)),
      next_id_(std::move(next_id)),
      hello_deadline_(now + options.hello_timeout),
      liveness_(options.keepalive_interval, options.link_timeout, now),
      handshake_tokens_(static_cast<double>(options.max_handshakes_per_minute)),
      tokens_at_(now) {}

bool AdsLinkCore::admit_handshake(TimePoint now) {
  if (options_.max_handshakes_per_minute == 0) return true;
  const double capacity = static_cast<double>(options_.max_handshakes_per_minute);
  if (now > tokens_at_) {
    const double minutes = std::chrono::duration<double>(now - tokens_at_).count() / 60.0;
    handshake_tokens_ = std::min(capacity, handshake_tokens_ + minutes * capacity);
    tokens_at_ = now;
  }
  if (handshake_tokens_ < 1) return false;
  handshake_tokens_ -= 1;
  return true;
}

// The DTD's name comes from its LinkHello, which nothing authenticates (anyone on the path may change
// it): the log names a link by its address, and the name is reported once, as a claim.
std::string AdsLinkCore::who() const { return fmt::format("DTD at {}", peer_); }

TimePoint AdsLinkCore::deadline() const {
  return state_ == State::AwaitHello ? hello_deadline_ : liveness_.deadline();
}

LinkActions AdsLinkCore::on_frame(const Frame& frame, TimePoint now) {
  switch (state_) {
    case State::AwaitHello: return on_hello(frame, now);
    case State::Closed: return {};
    case State::Open: break;
  }
  liveness_.on_received(now);
  if (frame.header.channel == Channel::LinkControl) return on_link_control(frame);
  return on_session_frame(frame, now);
}

LinkActions AdsLinkCore::on_tick(TimePoint now) {
  switch (state_) {
    case State::Closed: return {};
    case State::AwaitHello:
      if (now < hello_deadline_) return {};
      state_ = State::Closed;
      // Worded as the stream words a read timeout, like every other "sent no LinkHello" line.
      return {warn(fmt::format("DTD at {} sent no LinkHello: no frame from {} within {} ms", peer_, peer_,
                               options_.hello_timeout.count())),
              LinkDown{"no LinkHello"}};
    case State::Open: break;
  }
  switch (liveness_.due(now)) {
    case LinkLiveness::Due::Nothing: return {};
    case LinkLiveness::Due::Keepalive:
      return {SendFrame{Peer::Dtd, make_frame(Channel::LinkControl, 0, Keepalive{})}};
    case LinkLiveness::Due::Dead: break;
  }
  state_ = State::Closed;
  return {warn(fmt::format("{} silent for {} ms; closing the link", who(), options_.link_timeout.count())),
          LinkDown{"link timeout"}};
}

LinkActions AdsLinkCore::on_read_failed(const std::string& error, bool bad_frame) {
  switch (state_) {
    case State::Closed: return {};
    case State::AwaitHello:
      state_ = State::Closed;
      return {warn(fmt::format("DTD at {} sent no LinkHello: {}", peer_, error)), LinkDown{"no LinkHello"}};
    case State::Open: break;
  }
  state_ = State::Closed;
  return {info(fmt::format("{} disconnected: {}", who(), error)), LinkDown{bad_frame ? "bad frame" : "peer closed"}};
}

LinkActions AdsLinkCore::refuse_hello(ErrorCode code, const std::string& error, std::string log) {
  state_ = State::Closed;
  return {error_to_dtd(Channel::LinkControl, 0, code, error), warn(std::move(log)), LinkDown{"hello refused"}};
}

LinkActions AdsLinkCore::on_hello(const Frame& frame, TimePoint now) {
  if (frame.header.channel != Channel::LinkControl || !is(frame, MessageType::LinkHello))
    return refuse_hello(ErrorCode::UnexpectedMessage, "the link starts with LinkHello",
                        fmt::format("DTD at {} did not start with LinkHello (type 0x{:02x} on channel {}); closing",
                                    peer_, frame.header.type, static_cast<int>(frame.header.channel)));
  auto hello = LinkHello::decode(frame.payload);
  if (!hello)
    return refuse_hello(ErrorCode::BadFrame, hello.error().message,
                        fmt::format("DTD at {} sent a malformed LinkHello: {}", peer_, hello.error().message));
  dtd_name_ = hello->node_id;
  auto ack = negotiate_version(hello->min_version, hello->max_version);
  if (!ack)
    return refuse_hello(ErrorCode::UnsupportedVersion, ack.error().message,
                        fmt::format("{}: {}", who(), ack.error().message));
  state_ = State::Open;
  liveness_.on_received(now);
  return {SendFrame{Peer::Dtd, make_frame(Channel::LinkControl, 0, *ack)}, LinkUp{dtd_name_, ack->version},
          info(fmt::format("DTD at {} connected (protocol version {}); it calls itself '{}', a name nothing "
                           "authenticates",
                           peer_, ack->version, dtd_name_))};
}

LinkActions AdsLinkCore::on_link_control(const Frame& frame) {
  const auto type = to_message_type(frame.header.type);
  if (type == MessageType::Keepalive) return {};
  if (type == MessageType::Error) {
    auto err = ErrorMessage::decode(frame.payload);
    state_ = State::Closed;
    return {warn(fmt::format("{} reported a link error: {}; closing the link", who(),
                             err ? fmt::format("{} ({})", err->text, describe(err->code)) : err.error().message)),
            LinkDown{"peer closed"}};
  }
  return {warn(fmt::format("{}: unexpected {} on channel 0", who(),
                           type ? std::string(name(*type)) : fmt::format("type 0x{:02x}", frame.header.type))),
          error_to_dtd(Channel::LinkControl, 0, ErrorCode::UnexpectedMessage,
                       "only Keepalive and Error are expected on channel 0 after the hello")};
}

LinkActions AdsLinkCore::on_session_frame(const Frame& frame, TimePoint now) {
  if (frame.header.channel == Channel::SteAds && frame.header.session == 0 && is(frame, MessageType::H1)) {
    if (!admit_handshake(now)) {
      LinkActions out;
      ++handshakes_refused_;
      // One warning a minute at most, counting the refusals it stands for; a flood does not flood the log.
      if (!last_refusal_warning_ || now - *last_refusal_warning_ >= std::chrono::minutes(1)) {
        out.push_back(warn(fmt::format("{}: {} H1(s) refused, more than {} handshakes a minute on this link", who(),
                                       handshakes_refused_, options_.max_handshakes_per_minute)));
        handshakes_refused_ = 0;
        last_refusal_warning_ = now;
      }
      out.push_back(error_to_dtd(Channel::SteAds, 0, ErrorCode::Busy,
                                 fmt::format("too many handshakes on this link (at most {} a minute); retry later",
                                             options_.max_handshakes_per_minute)));
      return out;
    }
    if (sessions_.size() >= options_.max_sessions)
      return {warn(fmt::format("{}: H1 refused, {} sessions already open on this link", who(), sessions_.size())),
              error_to_dtd(Channel::SteAds, 0, ErrorCode::Busy,
                           fmt::format("too many sessions on this link (at most {}); retry later",
                                       options_.max_sessions))};
    const std::uint32_t id = next_id_();
    // Only after 2^32 sessions on one link, but never let two sessions share an id.
    if (!sessions_.insert(id).second)
      return {error_to_dtd(Channel::SteAds, 0, ErrorCode::Busy, "no free session id; retry")};
    return {debug(fmt::format("session {} started by {}", id, who())), SessionFrame{id, true, frame}};
  }
  const auto session = frame.header.session;
  if (sessions_.contains(session)) return {SessionFrame{session, false, frame}};
  // An Error about a session we no longer hold needs no answer (and answering could ping-pong).
  if (is(frame, MessageType::Error))
    return {debug(fmt::format("{}: Error for unknown session {} ignored", who(), session))};
  return {info(fmt::format("{}: frame (type 0x{:02x}) for unknown session {}", who(), frame.header.type, session)),
          error_to_dtd(frame.header.channel, session, ErrorCode::UnknownSession,
                       fmt::format("no session {} on this link", session))};
}

}  // namespace cardperso::proto
