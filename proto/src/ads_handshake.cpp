#include "cardperso/proto/ads_handshake.hpp"

#include <fmt/format.h>

#include <stdexcept>

#include "cardperso/common/crypto.hpp"
#include "cardperso/proto/session_keys.hpp"
#include "cardperso/proto/terminal_identity.hpp"

namespace cardperso::proto {

namespace {
void wipe_block(Block16& b) { secure_wipe(b.data(), b.size()); }
}  // namespace

AdsHandshake::AdsHandshake(std::uint32_t session_id, Timeouts timeouts, RandomSource random)
    : session_(session_id), timeouts_(timeouts), random_(std::move(random)) {
  if (session_id == 0) throw std::invalid_argument("session id 0 means 'not yet chosen'; pick a non-zero id");
  if (!random_) throw std::invalid_argument("AdsHandshake needs a random source");
}

void AdsHandshake::wipe_all() {
  keys_.wipe();
  shared_.wipe();
  if (ste_channel_) ste_channel_->terminate();
  if (dtd_channel_) dtd_channel_->terminate();
  for (auto* b : {&rn1_, &rn2_, &rn3_, &rn4_, &rn5_, &rn6_}) wipe_block(*b);
  deadline_.reset();
  state_ = State::Closed;
}

Actions AdsHandshake::abort(ErrorCode code, std::string reason) {
  Actions out;
  out.reserve(3);
  const bool established = state_ == State::Established;
  const bool before_h2 = state_ == State::AwaitH1 || state_ == State::LookingUp || state_ == State::Refusing;
  const std::uint32_t session = before_h2 ? 0 : session_;
  const auto error = ErrorMessage::make(code, reason);
  // emplace_back: the action is built in place (GCC 12 warns, wrongly, about moving a variant here).
  out.emplace_back(SendFrame{Peer::Dtd, make_frame(Channel::SteAds, session, error)});
  if (established) out.emplace_back(SendFrame{Peer::Dtd, make_frame(Channel::DtdAds, session, error)});
  wipe_all();
  out.emplace_back(Close{code, std::move(reason)});
  return out;
}

Actions AdsHandshake::refuse(ErrorCode code, std::string reason, TimePoint now) {
  refusal_code_ = code;
  refusal_reason_ = std::move(reason);
  keys_.wipe();
  state_ = State::Refusing;
  deadline_ = h1_at_ + timeouts_.refusal_floor;
  if (now >= *deadline_) return send_refusal();
  return {};
}

Actions AdsHandshake::send_refusal() {
  // The same bytes for every reason: a caller who is not yet authenticated learns nothing from them.
  Actions out;
  out.reserve(2);
  out.emplace_back(SendFrame{Peer::Dtd, make_frame(Channel::SteAds, 0,
                                                   ErrorMessage::make(ErrorCode::NotAccepted,
                                                                      "not accepted; the issuer's log says why"))});
  wipe_all();
  out.emplace_back(Close{refusal_code_, std::move(refusal_reason_)});
  return out;
}

Actions AdsHandshake::on_peer_error(const Frame& frame) {
  auto err = ErrorMessage::decode(frame.payload);
  wipe_all();
  if (!err) return {Close{ErrorCode::BadFrame, "peer sent a malformed Error message: " + err.error().message}};
  return {Close{err->code, fmt::format("peer ended the session: {} ({})", err->text, describe(err->code))}};
}

Actions AdsHandshake::on_frame(const Frame& frame, TimePoint now) {
  // A pending refusal leaves at its time, whatever the peer sends meanwhile.
  if (state_ == State::Closed || state_ == State::Refusing) return {};
  const auto type = to_message_type(frame.header.type);
  if (!type) return abort(ErrorCode::BadFrame, fmt::format("unknown message type 0x{:02x}", frame.header.type));
  if (frame.payload.size() != frame.header.length) return abort(ErrorCode::BadFrame, "payload length disagrees with the header");
  if (!allowed_on(*type, frame.header.channel))
    return abort(ErrorCode::UnexpectedMessage, fmt::format("{} is not allowed on channel {}", name(*type),
                                                           static_cast<int>(frame.header.channel)));
  const bool sealed = (frame.header.flags & kFlagSealed) != 0;
  if (sealed != is_sealed_type(*type))
    return abort(ErrorCode::BadFrame, fmt::format("{} arrived {}", name(*type), sealed ? "sealed" : "in clear"));
  if (*type == MessageType::Error) return on_peer_error(frame);
  if (state_ != State::AwaitH1 && frame.header.session != session_)
    return abort(ErrorCode::UnknownSession,
                 fmt::format("frame for session {} reached session {}", frame.header.session, session_));
  switch (state_) {
    case State::AwaitH1:
      if (*type == MessageType::H1) return on_h1(frame, now);
      break;
    case State::AwaitH3:
      if (*type == MessageType::H3) return on_h3(frame, now);
      break;
    case State::Established:
      if (sealed) return on_sealed(frame, now);
      break;
    case State::Refusing:
    case State::LookingUp:
    case State::Closed:
      break;
  }
  return abort(ErrorCode::UnexpectedMessage, fmt::format("{} was not expected at this point of the session", name(*type)));
}

Actions AdsHandshake::on_h1(const Frame& frame, TimePoint now) {
  if (frame.header.session != 0) return abort(ErrorCode::BadFrame, "H1 must carry session id 0");
  // The version first: an older terminal's H1 has another layout, and deserves the clear answer.
  if (!frame.payload.empty() && frame.payload[0] != kProtocolVersion)
    return abort(ErrorCode::UnsupportedVersion,
                 fmt::format("H1 asks for protocol version {}; this server speaks only {} (version 1 had no forward "
                             "secrecy: update the terminal's firmware)",
                             frame.payload[0], kProtocolVersion));
  auto h1 = HandshakeH1::decode(frame.payload);
  if (!h1) return abort(ErrorCode::BadFrame, h1.error().message);
  serial_ = h1->serial;
  key_version_ = h1->key_version;
  rn2_ = h1->rn2;
  rn4_ = h1->rn4;
  rn6_ = h1->rn6;
  ste_share_ = h1->share;
  terminal_ = h1->terminal;
  h1_at_ = now;
  h1_payload_ = frame.payload;
  state_ = State::LookingUp;
  deadline_ = now + timeouts_.handshake;
  return {LookupRetailer{serial_, key_version_, terminal_}};
}

Actions AdsHandshake::on_retailer_lookup(RetailerLookup lookup, TimePoint now) {
  if (state_ == State::Closed) return {};  // the session timed out while the lookup ran
  if (state_ != State::LookingUp) throw std::logic_error("on_retailer_lookup without a pending LookupRetailer");
  if (deadline_ && now >= *deadline_) return abort(ErrorCode::Timeout, "handshake timed out during the retailer lookup");
  // The terminal first: a machine the issuer never enrolled learns nothing about the card it holds.
  const std::string key = "terminal not enrolled: device key " + device_key_hex(terminal_).substr(0, 16) + "...";
  switch (lookup.terminal) {
    case TerminalEnrolment::NotEnrolled:
      return refuse(ErrorCode::TerminalNotEnrolled, key + " is not enrolled at this issuer (adsctl terminal enrol)", now);
    case TerminalEnrolment::Revoked: return refuse(ErrorCode::TerminalNotEnrolled, key + " was revoked by the issuer", now);
    case TerminalEnrolment::OtherRetailer:
      return refuse(ErrorCode::TerminalNotEnrolled, key + " is enrolled for another retailer, not for card " + serial_,
                    now);
    case TerminalEnrolment::Active: break;
  }
  switch (lookup.status) {
    case RetailerStatus::NotFound:
      return refuse(ErrorCode::UnknownRetailer, "unknown retailer card (serial or key version not enrolled)", now);
    case RetailerStatus::Revoked: return refuse(ErrorCode::RetailerRevoked, "retailer card revoked by the issuer", now);
    case RetailerStatus::Locked:
      return refuse(ErrorCode::RetailerLocked, "retailer card locked after failed authentications", now);
    case RetailerStatus::Active: break;
  }
  if (!lookup.keys.complete()) return abort(ErrorCode::Internal, "retailer key record is incomplete");
  keys_ = std::move(lookup.keys);
  random_(rn1_);
  random_(rn3_);
  random_(rn5_);
  // The key pair lives only in this block: only Z is needed from here on.
  std::optional<crypto::X25519KeyPair> ephemeral;
  {
    SecretBytes private_key(crypto::kX25519Size);
    random_(private_key.span());
    ephemeral.emplace(private_key);
  }
  auto shared = ephemeral->shared_secret(ste_share_);
  if (!shared) return abort(ErrorCode::BadFrame, "H1 carries an unusable key share: " + shared.error().message);
  shared_ = std::move(*shared);
  HandshakeH2 h2{session_, rn1_, rn3_, rn5_, ephemeral->public_key()};
  ephemeral.reset();
  auto frame = make_frame(Channel::SteAds, session_, h2);
  h2_payload_ = frame.payload;
  state_ = State::AwaitH3;
  return {SendFrame{Peer::Dtd, std::move(frame)}};
}

Actions AdsHandshake::on_h3(const Frame& frame, TimePoint now) {
  auto h3 = HandshakeH3::decode(frame.payload);
  if (!h3) return abort(ErrorCode::BadFrame, h3.error().message);

  TranscriptInputs in{h1_payload_, session_, h2_payload_, h3->retailer_cryptogram};
  const auto th3 = transcript_h3(in);
  // The terminal first: a machine without the enrolled device key costs the retailer nothing.
  if (!transcript_signature_valid(terminal_, th3, h3->terminal_signature))
    return abort(ErrorCode::TerminalAuthFailed,
                 "terminal authentication failed: the H3 signature is not the enrolled terminal's");
  // Then the retailer: nothing keyed by K_IA, K_S or K_D is computed for an unauthenticated caller.
  auto expected_rc = retailer_cryptogram(keys_.k_ra, rn1_);
  const bool retailer_ok = crypto::ct_equal(expected_rc, h3->retailer_cryptogram);
  wipe_block(expected_rc);
  if (!retailer_ok) {
    Actions out{RecordAuthFailure{serial_, key_version_}};
    auto rest = abort(ErrorCode::RetailerAuthFailed, "retailer authentication failed");
    for (auto& a : rest) out.push_back(std::move(a));
    return out;
  }

  const auto t2 = transcript_h2(in);
  auto sk_s = session_key(ConfirmedKey::SkS, derive_session_key(keys_.k_s, rn3_, rn4_), shared_, t2);
  auto sk_d = session_key(ConfirmedKey::SkD, derive_session_key(keys_.k_d, rn5_, rn6_), shared_, t2);
  shared_.wipe();
  const bool s_ok = crypto::ct_equal(key_confirmation(sk_s, ConfirmedKey::SkS, Confirmer::Ste, th3), h3->confirm_s);
  const bool d_ok = crypto::ct_equal(key_confirmation(sk_d, ConfirmedKey::SkD, Confirmer::Ste, th3), h3->confirm_d);
  if (!(s_ok && d_ok))
    return abort(ErrorCode::KeyConfirmationFailed,
                 "key confirmation failed: the two sides saw different handshakes (altered in transit)");

  HandshakeH4 h4;
  h4.issuer_cryptogram = issuer_cryptogram(keys_.k_ia, rn2_);
  const auto th4 = transcript_h4(in, h4.issuer_cryptogram);
  h4.confirm_s = key_confirmation(sk_s, ConfirmedKey::SkS, Confirmer::Ads, th4);
  h4.confirm_d = key_confirmation(sk_d, ConfirmedKey::SkD, Confirmer::Ads, th4);
  keys_.wipe();  // the long-term keys are not needed again in this session
  ste_channel_.emplace(std::move(sk_s), th4, Direction::AdsToSte, Direction::SteToAds);
  dtd_channel_.emplace(std::move(sk_d), th4, Direction::AdsToDtd, Direction::DtdToAds);
  transcript_ = th4;
  state_ = State::Established;
  deadline_ = now + timeouts_.idle;
  return {SendFrame{Peer::Dtd, make_frame(Channel::SteAds, session_, h4)}, SessionEstablished{session_, serial_}};
}

Actions AdsHandshake::on_sealed(const Frame& frame, TimePoint now) {
  auto& channel = frame.header.channel == Channel::SteAds ? *ste_channel_ : *dtd_channel_;
  auto opened = channel.open(frame);
  if (!opened) return abort(channel.failure_code(), opened.error().message);
  const auto type = static_cast<MessageType>(frame.header.type);
  if (type == MessageType::Terminate) {
    auto body = TerminateBody::decode(opened->view());
    Actions out;
    // Tell the other end point too: the session is one unit.
    auto& other = frame.header.channel == Channel::SteAds ? *dtd_channel_ : *ste_channel_;
    const auto other_ch = frame.header.channel == Channel::SteAds ? Channel::DtdAds : Channel::SteAds;
    if (auto f = other.seal(FrameHeader{kProtocolVersion, other_ch, static_cast<std::uint8_t>(MessageType::Terminate), 0,
                                        session_, 0},
                            TerminateBody{ErrorCode::None}.encode()))
      out.push_back(SendFrame{Peer::Dtd, std::move(*f)});
    wipe_all();
    if (!body) out.push_back(Close{ErrorCode::BadFrame, body.error().message});
    else
      out.push_back(Close{body->code, frame.header.channel == Channel::SteAds ? "the STE ended the session"
                                                                                : "the DTD ended the session"});
    return out;
  }
  deadline_ = now + timeouts_.idle;
  return {Deliver{frame.header.channel, type, std::move(*opened)}};
}

Actions AdsHandshake::send(Channel channel, MessageType type, ByteView plaintext, TimePoint now) {
  if (state_ != State::Established) throw std::logic_error("AdsHandshake::send before the session is established");
  if (channel == Channel::LinkControl || !is_sealed_type(type) || !allowed_on(type, channel))
    throw std::invalid_argument("AdsHandshake::send: not a sealed message type of that channel");
  auto& ch = channel == Channel::SteAds ? *ste_channel_ : *dtd_channel_;
  auto frame = ch.seal(FrameHeader{kProtocolVersion, channel, static_cast<std::uint8_t>(type), 0, session_, 0}, plaintext);
  if (!frame) return abort(ErrorCode::Internal, frame.error().message);
  deadline_ = now + timeouts_.idle;
  return {SendFrame{Peer::Dtd, std::move(*frame)}};
}

Actions AdsHandshake::refuse_now(ErrorCode code, std::string reason) {
  if (state_ == State::Closed) return {};
  if (state_ == State::Established) return terminate(code);
  return abort(code, std::move(reason));
}

Actions AdsHandshake::terminate(ErrorCode code) {
  if (state_ == State::Closed) return {};
  if (state_ != State::Established)
    return abort(code == ErrorCode::None ? ErrorCode::Internal : code, "session cancelled by the ADS");
  Actions out;
  const auto body = TerminateBody{code}.encode();
  for (auto ch : {Channel::SteAds, Channel::DtdAds}) {
    auto& sc = ch == Channel::SteAds ? *ste_channel_ : *dtd_channel_;
    if (auto f = sc.seal(FrameHeader{kProtocolVersion, ch, static_cast<std::uint8_t>(MessageType::Terminate), 0,
                                     session_, 0},
                         body))
      out.push_back(SendFrame{Peer::Dtd, std::move(*f)});
  }
  wipe_all();
  out.push_back(Close{code, "session terminated by the ADS"});
  return out;
}

Actions AdsHandshake::on_timeout(TimePoint now) {
  if (state_ == State::Closed || !deadline_ || now < *deadline_) return {};
  if (state_ == State::Refusing) return send_refusal();
  return abort(ErrorCode::Timeout, state_ == State::Established ? "session idle for too long"
                                                                 : "handshake did not complete in time");
}

}  // namespace cardperso::proto
