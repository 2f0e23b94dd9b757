#include "cardperso/proto/dtd_relay.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

#include "cardperso/proto/pairing.hpp"
#include "cardperso/proto/transcript.hpp"

namespace cardperso::proto {

namespace {
bool is(const Frame& f, MessageType t) { return f.header.type == static_cast<std::uint8_t>(t); }
}  // namespace

Actions DtdRelay::end_session(ErrorCode code, std::string reason, bool tell_ads) {
  Actions out;
  if (tell_ads)
    out.push_back(SendFrame{Peer::Ads, make_frame(Channel::DtdAds, session_, ErrorMessage::make(code, reason))});
  if (channel_) channel_->terminate();
  channel_.reset();
  state_ = State::Relaying;
  out.push_back(Close{code, std::move(reason)});
  return out;
}

Actions DtdRelay::on_ste_frame(Frame frame) {
  switch (frame.header.channel) {
    case Channel::SteAds:
      if (is(frame, MessageType::H1) && (frame.header.flags & kFlagSealed) == 0) {
        // A new handshake: remember the serial for the retailer UI; the ADS judges the rest.
        if (auto h1 = HandshakeH1::decode(frame.payload)) serial_ = h1->serial;
        h1_payload_ = frame.payload;
        retailer_cryptogram_.reset();
        issuer_cryptogram_.reset();
      }
      if (is(frame, MessageType::H3) && (frame.header.flags & kFlagSealed) == 0)
        if (auto h3 = HandshakeH3::decode(frame.payload)) retailer_cryptogram_ = h3->retailer_cryptogram;
      ++relayed_to_ads_;
      return {SendFrame{Peer::Ads, std::move(frame)}};
    case Channel::LinkControl:
      if (is(frame, MessageType::SessionKeyHandover)) return on_handover(frame);
      return {LinkMessage{Peer::Ste, std::move(frame)}};
    case Channel::DtdAds: break;
  }
  return {SendFrame{Peer::Ste, make_frame(Channel::LinkControl, 0,
                                          ErrorMessage::make(ErrorCode::UnexpectedMessage,
                                                             "the STE may not send on channel 2"))}};
}

std::optional<TranscriptHash> DtdRelay::relayed_transcript() const {
  if (!retailer_cryptogram_ || !issuer_cryptogram_) return std::nullopt;
  return transcript_h4({h1_payload_, session_, h2_payload_, *retailer_cryptogram_}, *issuer_cryptogram_);
}

void DtdRelay::remember(const TranscriptHash& t4) {
  if (std::find(handed_over_.begin(), handed_over_.end(), t4) != handed_over_.end()) return;
  if (handed_over_.size() == kRemembered) handed_over_.pop_front();
  handed_over_.push_back(t4);
}

Actions DtdRelay::on_handover(Frame& frame) {
  auto l1 = SessionKeyHandover::decode(frame.payload);
  if (!l1)
    return {SendFrame{Peer::Ste, make_frame(Channel::LinkControl, 0,
                                            ErrorMessage::make(ErrorCode::BadFrame, l1.error().message))}};
  if (session_ == 0 || l1->session != session_ || frame.header.session != session_)
    return {SendFrame{Peer::Ste,
                      make_frame(Channel::LinkControl, 0,
                                 ErrorMessage::make(ErrorCode::UnknownSession,
                                                    "SK_D handover names a session the DTD has not relayed"))}};
  const auto relayed = relayed_transcript();
  // A refused L1 ends the session at both ends and burns the handshake it was for: no later L1 for
  // it is taken, so whoever injects one cannot race the genuine one into place.
  auto refuse = [&](std::string reason) -> Actions {
    if (relayed) remember(*relayed);  // never a T4 the sender chose: it could crowd out real ones
    Actions out{SendFrame{Peer::Ste, make_frame(Channel::LinkControl, 0, ErrorMessage::make(ErrorCode::UnexpectedMessage, reason))}};
    for (auto& a : end_session(ErrorCode::UnexpectedMessage, std::move(reason), true)) out.push_back(std::move(a));
    return out;
  };
  if (std::find(handed_over_.begin(), handed_over_.end(), l1->transcript_hash) != handed_over_.end())
    return refuse(fmt::format("a second SK_D handover for session {} is refused: channel 2 never restarts under the "
                              "same key",
                              session_));
  if (!relayed || *relayed != l1->transcript_hash)
    return refuse(fmt::format("the SK_D handover for session {} names another handshake than the one this DTD relayed",
                              session_));
  if (pairing_key_.empty()) return refuse("this DTD is not paired with a terminal (dtd-agent --pair CODE)");
  auto sk_d = open_sk_d(pairing_key_, frame.header, l1->transcript_hash, l1->sealed_sk_d);
  if (!sk_d) return refuse(fmt::format("session {}: {}", session_, sk_d.error().message));
  remember(l1->transcript_hash);
  channel_.emplace(std::move(*sk_d), l1->transcript_hash, Direction::DtdToAds, Direction::AdsToDtd);
  state_ = State::Established;
  return {SessionEstablished{session_, serial_}};
}

Actions DtdRelay::on_ads_frame(Frame frame) {
  switch (frame.header.channel) {
    case Channel::SteAds:
      if (is(frame, MessageType::H2) && (frame.header.flags & kFlagSealed) == 0 && frame.header.session != session_) {
        // A new session starts: whatever the DTD held for the previous one is dropped.
        if (channel_) channel_->terminate();
        channel_.reset();
        state_ = State::Relaying;
        session_ = frame.header.session;
      }
      if (is(frame, MessageType::H2) && (frame.header.flags & kFlagSealed) == 0) h2_payload_ = frame.payload;
      if (is(frame, MessageType::H4) && (frame.header.flags & kFlagSealed) == 0)
        if (auto h4 = HandshakeH4::decode(frame.payload)) issuer_cryptogram_ = h4->issuer_cryptogram;
      ++relayed_to_ste_;
      return {SendFrame{Peer::Ste, std::move(frame)}};
    case Channel::DtdAds: return on_channel2(frame);
    case Channel::LinkControl: return {LinkMessage{Peer::Ads, std::move(frame)}};
  }
  return {};
}

Actions DtdRelay::on_channel2(const Frame& frame) {
  const auto type = to_message_type(frame.header.type);
  const bool sealed = (frame.header.flags & kFlagSealed) != 0;
  if (type == MessageType::Error && !sealed) {
    auto err = ErrorMessage::decode(frame.payload);
    if (state_ != State::Established) return {LinkMessage{Peer::Ads, frame}};
    if (!err) return end_session(ErrorCode::BadFrame, "the ADS sent a malformed Error message", false);
    return end_session(err->code, fmt::format("the ADS ended the session: {} ({})", err->text, describe(err->code)),
                       false);
  }
  if (state_ != State::Established) {
    return {SendFrame{Peer::Ads, make_frame(Channel::DtdAds, frame.header.session,
                                            ErrorMessage::make(ErrorCode::UnexpectedMessage,
                                                               "channel 2 frame before the DTD holds SK_D"))}};
  }
  if (!type || !sealed || !is_sealed_type(*type) || !allowed_on(*type, Channel::DtdAds) ||
      frame.header.session != session_)
    return end_session(ErrorCode::UnexpectedMessage, "the ADS sent a frame that is not valid on channel 2", true);
  auto opened = channel_->open(frame);
  if (!opened) return end_session(channel_->failure_code(), opened.error().message, true);
  if (*type == MessageType::Terminate) {
    auto body = TerminateBody::decode(opened->view());
    if (!body) return end_session(ErrorCode::BadFrame, body.error().message, false);
    return end_session(body->code, "the ADS ended the session", false);
  }
  return {Deliver{Channel::DtdAds, *type, std::move(*opened)}};
}

Actions DtdRelay::send(MessageType type, ByteView plaintext) {
  if (state_ != State::Established) throw std::logic_error("DtdRelay::send before the DTD holds SK_D");
  if (!is_sealed_type(type) || !allowed_on(type, Channel::DtdAds))
    throw std::invalid_argument("DtdRelay::send: not a sealed message type of channel 2");
  auto frame = channel_->seal(
      FrameHeader{kProtocolVersion, Channel::DtdAds, static_cast<std::uint8_t>(type), 0, session_, 0}, plaintext);
  if (!frame) return end_session(ErrorCode::Internal, frame.error().message, true);
  return {SendFrame{Peer::Ads, std::move(*frame)}};
}

Actions DtdRelay::terminate(ErrorCode code) {
  if (state_ != State::Established) return {};
  Actions out;
  if (auto f = channel_->seal(FrameHeader{kProtocolVersion, Channel::DtdAds,
                                          static_cast<std::uint8_t>(MessageType::Terminate), 0, session_, 0},
                              TerminateBody{code}.encode()))
    out.push_back(SendFrame{Peer::Ads, std::move(*f)});
  auto rest = end_session(code, "session terminated by the DTD", false);
  for (auto& a : rest) out.push_back(std::move(a));
  return out;
}

}  // namespace cardperso::proto
