#pragma once
// The STE side of one session, sans-I/O (proto/PROTOCOL.md §Handshake). All its frames go to the
// DTD over the local link: channel 1 frames are relayed to the ADS, the L1 handover stays at the DTD.
//
// start -> H1 (RN2, RN4, RN6); H2 -> H3 (K_RA, K_S, K_D erased once used); H4 -> issuer cryptogram
// checked in constant time, then the ADS confirmations; success -> L1 (SK_D, never K_D) to the DTD,
// SessionEstablished, and channel 1 sealed under SK_S.
#include <cstdint>
#include <optional>
#include <string>

#include "cardperso/proto/actions.hpp"
#include "cardperso/proto/secure_channel.hpp"
#include "cardperso/proto/transcript.hpp"

namespace cardperso::proto {

class SteHandshake {
 public:
  enum class State { Idle, AwaitH2, AwaitH4, Established, Closed };

  explicit SteHandshake(Timeouts timeouts = {}, RandomSource random = default_random_source());

  // keys: read from the retailer card after VERIFY CHV1. A serial that is not 1-20 digits or an
  // incomplete key set ends the session at once (Close, nothing sent).
  Actions start(std::string serial, std::uint8_t key_version, RetailerKeys keys, TimePoint now);
  Actions on_frame(const Frame& frame, TimePoint now);
  Actions on_timeout(TimePoint now);
  // Seal an application message on channel 1. Established only (std::logic_error otherwise).
  Actions send(MessageType type, ByteView plaintext, TimePoint now);
  Actions terminate(ErrorCode code = ErrorCode::None);

  std::optional<TimePoint> deadline() const { return deadline_; }
  State state() const { return state_; }
  std::uint32_t session() const { return session_; }
  const std::optional<TranscriptHash>& transcript() const { return transcript_; }
  // True while the STE still holds any long-term key (for the erasure tests).
  bool holds_long_term_keys() const { return !keys_.k_ra.empty() || !keys_.k_ia.empty() || !keys_.k_s.empty() || !keys_.k_d.empty(); }

 private:
  Actions on_h2(const Frame& frame, TimePoint now);
  Actions on_h4(const Frame& frame, TimePoint now);
  Actions on_sealed(const Frame& frame, TimePoint now);
  Actions abort(ErrorCode code, std::string reason, bool tell_peer = true);
  void wipe_all();

  Timeouts timeouts_;
  RandomSource random_;
  State state_ = State::Idle;
  std::optional<TimePoint> deadline_;
  std::string serial_;
  std::uint32_t session_ = 0;
  RetailerKeys keys_;
  SecretBytes sk_s_;
  SecretBytes sk_d_;
  Block16 rn2_{}, rn4_{}, rn6_{};
  Bytes h1_payload_;
  Bytes h2_payload_;
  Block16 retailer_cryptogram_{};
  std::optional<SecureChannel> channel_;
  std::optional<TranscriptHash> transcript_;
};

}  // namespace cardperso::proto
