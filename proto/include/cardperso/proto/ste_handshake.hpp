#pragma once
// The STE side of one session, sans-I/O (proto/PROTOCOL.md §Handshake). All its frames go to the
// DTD over the local link: channel 1 frames are relayed to the ADS, the L1 handover stays at the DTD.
//
// start -> H1 (RN2, RN4, RN6, a fresh X25519 share, the device key); H2 -> X25519 secret (the private
// key wiped), H3 (the retailer card computes the retailer cryptogram and the two session-key inputs,
// mixed with the X25519 secret into SK_S and SK_D; the device key signs T3); H4 -> the card checks the issuer cryptogram, then the ADS confirmations;
// success -> L1 (SK_D sealed under the pairing key, never K_D) to the DTD, SessionEstablished, and channel 1 sealed under SK_S.
// The long-term keys stay behind RetailerSecrets: on a terminal, inside the retailer card.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "cardperso/common/crypto.hpp"
#include "cardperso/proto/actions.hpp"
#include "cardperso/proto/retailer_secrets.hpp"
#include "cardperso/proto/secure_channel.hpp"
#include "cardperso/proto/terminal_identity.hpp"
#include "cardperso/proto/transcript.hpp"

namespace cardperso::proto {

class SteHandshake {
 public:
  enum class State { Idle, AwaitH2, AwaitH4, Established, Closed };

  explicit SteHandshake(Timeouts timeouts = {}, RandomSource random = default_random_source());

  // secrets: the retailer card after VERIFY CHV1 (or keys in memory). A serial that is not 1-20
  // digits, no secrets or an incomplete key set ends the session at once (Close, nothing sent).
  // The key this terminal shares with its DTD (pairing.hpp); L1 is sealed under it. Before start.
  void pair(SecretBytes pairing_key) { pairing_key_ = std::move(pairing_key); }
  // This terminal's device key (terminal_identity.hpp): H1 names its public key, H3 carries its
  // signature of T3. Before start.
  void identify(DeviceSigner device) { device_ = std::move(device); }
  bool identified() const { return device_ != nullptr; }
  Actions start(std::string serial, std::uint8_t key_version, std::unique_ptr<RetailerSecrets> secrets, TimePoint now);
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
  // True while the STE can still use the retailer's long-term keys (for the erasure tests): from
  // start until the issuer is checked or the session fails.
  bool holds_long_term_keys() const { return secrets_ != nullptr; }

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
  std::unique_ptr<RetailerSecrets> secrets_;
  SecretBytes pairing_key_;
  DeviceSigner device_;
  std::optional<crypto::X25519KeyPair> ephemeral_;  // this session's X25519 key pair, from start until H2
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
