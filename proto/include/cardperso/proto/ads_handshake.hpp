#pragma once
// The ADS side of one session, sans-I/O (proto/PROTOCOL.md §Handshake). One instance per session:
// the adapter creates it when an H1 arrives (session 0) with a fresh non-zero session id, routes
// later frames with that session id to it, and carries out the returned actions in order.
//
// H1 -> LookupRetailer (the card and the terminal); lookup -> H2 with a fresh X25519 share (the
// private key wiped once the secret is computed) | for a terminal not enrolled for that card or a card
// not active, one refusal whatever the reason: Error NotAccepted with the same text, sent at
// H1 + Timeouts::refusal_floor (on_timeout), and a Close that keeps the true code and reason for the
// ADS's log; H3 -> the terminal's signature of T3 checked FIRST (Error+Close, nothing
// counted against the retailer), then the retailer cryptogram (RecordAuthFailure+Error+Close on
// mismatch), then the STE's key confirmations, and only then is the issuer cryptogram computed and
// H4 sent. Afterwards channel 1 (SK_S) and channel 2 (SK_D) are sealed.
#include <cstdint>
#include <optional>
#include <string>

#include "cardperso/proto/actions.hpp"
#include "cardperso/proto/secure_channel.hpp"
#include "cardperso/proto/transcript.hpp"

namespace cardperso::proto {

enum class RetailerStatus { Active, NotFound, Revoked, Locked };
// The terminal named in H1, as the issuer's records see it for this card. Not enrolled unless the
// directory says otherwise: a lookup that forgets the terminal refuses the session.
enum class TerminalEnrolment { NotEnrolled, Active, Revoked, OtherRetailer };

struct RetailerLookup {
  RetailerStatus status = RetailerStatus::NotFound;
  RetailerKeys keys;  // only for Active
  TerminalEnrolment terminal = TerminalEnrolment::NotEnrolled;
  bool retailer_known = false;  // the serial is the issuer's (whatever its status): worth a journal row
};

class AdsHandshake {
 public:
  enum class State { AwaitH1, LookingUp, Refusing, AwaitH3, Established, Closed };

  explicit AdsHandshake(std::uint32_t session_id, Timeouts timeouts = {},
                        RandomSource random = default_random_source());

  Actions on_frame(const Frame& frame, TimePoint now);
  // Answer to LookupRetailer. Calling it in another state is a programmer error (std::logic_error).
  Actions on_retailer_lookup(RetailerLookup lookup, TimePoint now);
  // Call when deadline() has passed; does nothing before it.
  Actions on_timeout(TimePoint now);
  // Seal an application message on channel 1 (to the STE) or 2 (to the DTD). Established only.
  Actions send(Channel channel, MessageType type, ByteView plaintext, TimePoint now);
  // End the session: sealed Terminate on both channels if established, keys erased, Close.
  Actions terminate(ErrorCode code = ErrorCode::None);
  // Refuse a session that is not established yet, at once, with this code and text (e.g. Busy for
  // an address that is backed off). Established: the same as terminate(code).
  Actions refuse_now(ErrorCode code, std::string reason);

  std::optional<TimePoint> deadline() const { return deadline_; }
  State state() const { return state_; }
  std::uint32_t session() const { return session_; }
  const std::string& serial() const { return serial_; }
  // The H4 transcript hash, once established (it is associated data of every sealed frame).
  const std::optional<TranscriptHash>& transcript() const { return transcript_; }

 private:
  Actions on_h1(const Frame& frame, TimePoint now);
  Actions on_h3(const Frame& frame, TimePoint now);
  Actions on_sealed(const Frame& frame, TimePoint now);
  Actions on_peer_error(const Frame& frame);
  Actions abort(ErrorCode code, std::string reason);
  // A refusal at H1: the generic answer, at the refusal floor.
  Actions refuse(ErrorCode code, std::string reason, TimePoint now);
  Actions send_refusal();
  void wipe_all();

  std::uint32_t session_;
  Timeouts timeouts_;
  RandomSource random_;
  State state_ = State::AwaitH1;
  std::optional<TimePoint> deadline_;
  TimePoint h1_at_{};
  ErrorCode refusal_code_ = ErrorCode::None;  // the true reason of a pending refusal, for the Close
  std::string refusal_reason_;
  std::string serial_;
  std::uint8_t key_version_ = 0;
  Bytes h1_payload_;
  Bytes h2_payload_;
  Block16 rn1_{}, rn2_{}, rn3_{}, rn4_{}, rn5_{}, rn6_{};
  RetailerKeys keys_;
  KeyShare ste_share_{};
  DeviceKey terminal_{};
  SecretBytes shared_;  // the X25519 secret, from H2 until the session keys are derived
  std::optional<SecureChannel> ste_channel_;
  std::optional<SecureChannel> dtd_channel_;
  std::optional<TranscriptHash> transcript_;
};

}  // namespace cardperso::proto
