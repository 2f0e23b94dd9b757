#include "cardperso/proto/ste_handshake.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

#include "cardperso/common/crypto.hpp"
#include "cardperso/proto/pairing.hpp"
#include "cardperso/proto/session_keys.hpp"

namespace cardperso::proto {

SteHandshake::SteHandshake(Timeouts timeouts, RandomSource random)
    : timeouts_(timeouts), random_(std::move(random)) {
  if (!random_) throw std::invalid_argument("SteHandshake needs a random source");
}

void SteHandshake::wipe_all() {
  secrets_.reset();
  ephemeral_.reset();
  sk_s_.wipe();
  sk_d_.wipe();
  if (channel_) channel_->terminate();
  for (auto* b : {&rn2_, &rn4_, &rn6_}) secure_wipe(b->data(), b->size());
  deadline_.reset();
  state_ = State::Closed;
}

Actions SteHandshake::abort(ErrorCode code, std::string reason, bool tell_peer) {
  Actions out;
  if (tell_peer)
    out.push_back(SendFrame{Peer::Dtd, make_frame(Channel::SteAds, session_, ErrorMessage::make(code, reason))});
  wipe_all();
  out.push_back(Close{code, std::move(reason)});
  return out;
}

Actions SteHandshake::start(std::string serial, std::uint8_t key_version, RetailerKeys keys, TimePoint now) {
  std::unique_ptr<RetailerSecrets> secrets;
  if (keys.complete()) secrets = std::make_unique<KeyedRetailerSecrets>(std::move(keys));
  keys.wipe();
  return start(std::move(serial), key_version, std::move(secrets), now);
}

Actions SteHandshake::start(std::string serial, std::uint8_t key_version, std::unique_ptr<RetailerSecrets> secrets,
                            TimePoint now) {
  if (state_ != State::Idle) throw std::logic_error("SteHandshake::start called twice; use a new instance per session");
  const bool serial_ok = !serial.empty() && serial.size() <= kMaxSerial &&
                         std::all_of(serial.begin(), serial.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!serial_ok)
    return abort(ErrorCode::Internal, "the retailer card's serial number is not 1-20 digits; the card is not usable",
                 false);
  if (!secrets)
    return abort(ErrorCode::Internal, "the retailer card did not yield four 16-byte keys; re-read the card", false);
  if (pairing_key_.size() != kPairingKeySize)
    return abort(ErrorCode::Internal, "this terminal is not paired with its DTD (ste-firmware --pair)", false);
  if (!device_)
    return abort(ErrorCode::Internal, "this terminal has no device key (ste-firmware --init-device-key)", false);
  secrets_ = std::move(secrets);
  serial_ = std::move(serial);
  HandshakeH1 h1;
  h1.key_version = key_version;
  h1.serial = serial_;
  random_(rn2_);
  random_(rn4_);
  random_(rn6_);
  h1.rn2 = rn2_;
  h1.rn4 = rn4_;
  h1.rn6 = rn6_;
  {
    SecretBytes private_key(crypto::kX25519Size);
    random_(private_key.span());
    ephemeral_.emplace(private_key);
  }
  h1.share = ephemeral_->public_key();
  h1.terminal = device_->public_key();
  auto frame = make_frame(Channel::SteAds, 0, h1);
  h1_payload_ = frame.payload;
  state_ = State::AwaitH2;
  deadline_ = now + timeouts_.handshake;
  return {SendFrame{Peer::Dtd, std::move(frame)}};
}

Actions SteHandshake::on_frame(const Frame& frame, TimePoint now) {
  if (state_ == State::Closed || state_ == State::Idle) return {};
  const auto type = to_message_type(frame.header.type);
  if (!type) return abort(ErrorCode::BadFrame, fmt::format("unknown message type 0x{:02x}", frame.header.type));
  if (frame.payload.size() != frame.header.length)
    return abort(ErrorCode::BadFrame, "payload length disagrees with the header");
  const bool sealed = (frame.header.flags & kFlagSealed) != 0;
  if (sealed != is_sealed_type(*type) || !allowed_on(*type, frame.header.channel))
    return abort(ErrorCode::UnexpectedMessage,
                 fmt::format("{} is not valid {} on channel {}", name(*type), sealed ? "sealed" : "in clear",
                             static_cast<int>(frame.header.channel)));
  if (*type == MessageType::Error) {
    auto err = ErrorMessage::decode(frame.payload);
    wipe_all();
    if (!err) return {Close{ErrorCode::BadFrame, "peer sent a malformed Error message: " + err.error().message}};
    return {Close{err->code, fmt::format("session refused: {} ({})", err->text, describe(err->code))}};
  }
  if (frame.header.channel != Channel::SteAds)
    return abort(ErrorCode::UnexpectedMessage, fmt::format("{} on a channel the STE does not use", name(*type)));
  if (state_ != State::AwaitH2 && frame.header.session != session_)
    return abort(ErrorCode::UnknownSession,
                 fmt::format("frame for session {} reached session {}", frame.header.session, session_));
  if (state_ == State::AwaitH2 && *type == MessageType::H2) return on_h2(frame, now);
  if (state_ == State::AwaitH4 && *type == MessageType::H4) return on_h4(frame, now);
  if (state_ == State::Established && sealed) return on_sealed(frame, now);
  return abort(ErrorCode::UnexpectedMessage, fmt::format("{} was not expected at this point of the session", name(*type)));
}

Actions SteHandshake::on_h2(const Frame& frame, TimePoint now) {
  auto h2 = HandshakeH2::decode(frame.payload);
  if (!h2) return abort(ErrorCode::BadFrame, h2.error().message);
  if (h2->session != frame.header.session)
    return abort(ErrorCode::BadFrame, "H2 names a session id different from its frame header");
  session_ = h2->session;
  h2_payload_ = frame.payload;
  auto shared = ephemeral_->shared_secret(h2->share);
  ephemeral_.reset();
  if (!shared) return abort(ErrorCode::BadFrame, "H2 carries an unusable key share: " + shared.error().message);
  auto cryptogram = secrets_->retailer_cryptogram(h2->rn1);
  if (!cryptogram)
    return abort(ErrorCode::Internal, "the retailer card did not compute the retailer cryptogram: " + cryptogram.error().message);
  retailer_cryptogram_ = *cryptogram;
  auto input_s = secrets_->session_key_input(SessionKeyRole::SkS, h2->rn3, rn4_);
  if (!input_s) return abort(ErrorCode::Internal, "the retailer card did not compute SK_S: " + input_s.error().message);
  auto input_d = secrets_->session_key_input(SessionKeyRole::SkD, h2->rn5, rn6_);
  if (!input_d) return abort(ErrorCode::Internal, "the retailer card did not compute SK_D: " + input_d.error().message);
  const auto t2 = transcript_h2({h1_payload_, session_, h2_payload_, {}});
  sk_s_ = session_key(ConfirmedKey::SkS, *input_s, *shared, t2);
  sk_d_ = session_key(ConfirmedKey::SkD, *input_d, *shared, t2);
  const auto th3 = transcript_h3({h1_payload_, session_, h2_payload_, retailer_cryptogram_});
  HandshakeH3 h3{retailer_cryptogram_, key_confirmation(sk_s_, ConfirmedKey::SkS, Confirmer::Ste, th3),
                 key_confirmation(sk_d_, ConfirmedKey::SkD, Confirmer::Ste, th3), sign_transcript(*device_, th3)};
  state_ = State::AwaitH4;
  (void)now;  // the handshake deadline set at start still runs
  return {SendFrame{Peer::Dtd, make_frame(Channel::SteAds, session_, h3)}};
}

Actions SteHandshake::on_h4(const Frame& frame, TimePoint now) {
  auto h4 = HandshakeH4::decode(frame.payload);
  if (!h4) return abort(ErrorCode::BadFrame, h4.error().message);
  auto issuer_ok = secrets_->issuer_matches(rn2_, h4->issuer_cryptogram);
  // The card is not needed again in this session.
  secrets_.reset();
  if (!issuer_ok)
    return abort(ErrorCode::Internal, "the retailer card did not check the issuer: " + issuer_ok.error().message);
  if (!*issuer_ok)
    return abort(ErrorCode::IssuerAuthFailed, "issuer authentication failed: the server is not the issuer");
  const auto th4 =
      transcript_h4({h1_payload_, session_, h2_payload_, retailer_cryptogram_}, h4->issuer_cryptogram);
  const bool s_ok = crypto::ct_equal(key_confirmation(sk_s_, ConfirmedKey::SkS, Confirmer::Ads, th4), h4->confirm_s);
  const bool d_ok = crypto::ct_equal(key_confirmation(sk_d_, ConfirmedKey::SkD, Confirmer::Ads, th4), h4->confirm_d);
  if (!(s_ok && d_ok))
    return abort(ErrorCode::KeyConfirmationFailed,
                 "key confirmation failed: the two sides saw different handshakes (altered in transit)");
  SessionKeyHandover l1;
  l1.session = session_;
  l1.transcript_hash = th4;
  auto handover = make_frame(Channel::LinkControl, session_, l1);  // the header (length 68) is final now
  const Bytes sealed = seal_sk_d(pairing_key_, handover.header, th4, sk_d_);
  std::copy(sealed.begin(), sealed.end(), handover.payload.end() - static_cast<std::ptrdiff_t>(kSealedSkDSize));
  sk_d_.wipe();
  channel_.emplace(std::move(sk_s_), th4, Direction::SteToAds, Direction::AdsToSte);
  transcript_ = th4;
  state_ = State::Established;
  deadline_ = now + timeouts_.idle;
  return {SendFrame{Peer::Dtd, std::move(handover)}, SessionEstablished{session_, serial_}};
}

Actions SteHandshake::on_sealed(const Frame& frame, TimePoint now) {
  auto opened = channel_->open(frame);
  if (!opened) return abort(channel_->failure_code(), opened.error().message);
  const auto type = static_cast<MessageType>(frame.header.type);
  if (type == MessageType::Terminate) {
    auto body = TerminateBody::decode(opened->view());
    wipe_all();
    if (!body) return {Close{ErrorCode::BadFrame, body.error().message}};
    return {Close{body->code, "the ADS ended the session"}};
  }
  deadline_ = now + timeouts_.idle;
  return {Deliver{Channel::SteAds, type, std::move(*opened)}};
}

Actions SteHandshake::send(MessageType type, ByteView plaintext, TimePoint now) {
  if (state_ != State::Established) throw std::logic_error("SteHandshake::send before the session is established");
  if (!is_sealed_type(type) || !allowed_on(type, Channel::SteAds))
    throw std::invalid_argument("SteHandshake::send: not a sealed message type of channel 1");
  auto frame = channel_->seal(
      FrameHeader{kProtocolVersion, Channel::SteAds, static_cast<std::uint8_t>(type), 0, session_, 0}, plaintext);
  if (!frame) return abort(ErrorCode::Internal, frame.error().message);
  deadline_ = now + timeouts_.idle;
  return {SendFrame{Peer::Dtd, std::move(*frame)}};
}

Actions SteHandshake::terminate(ErrorCode code) {
  if (state_ == State::Closed) return {};
  if (state_ == State::Idle) {
    wipe_all();
    return {Close{code, "session cancelled by the STE"}};
  }
  if (state_ != State::Established)
    return abort(code == ErrorCode::None ? ErrorCode::Internal : code, "session cancelled by the STE");
  Actions out;
  if (auto f = channel_->seal(FrameHeader{kProtocolVersion, Channel::SteAds,
                                          static_cast<std::uint8_t>(MessageType::Terminate), 0, session_, 0},
                              TerminateBody{code}.encode()))
    out.push_back(SendFrame{Peer::Dtd, std::move(*f)});
  wipe_all();
  out.push_back(Close{code, "session terminated by the STE"});
  return out;
}

Actions SteHandshake::on_timeout(TimePoint now) {
  if (state_ == State::Closed || !deadline_ || now < *deadline_) return {};
  return abort(ErrorCode::Timeout, state_ == State::Established ? "session idle for too long"
                                                                 : "the ADS did not answer the handshake in time");
}

}  // namespace cardperso::proto
