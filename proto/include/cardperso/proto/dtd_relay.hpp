#pragma once
// The DTD's view of the protocol, sans-I/O (proto/PROTOCOL.md §Relay). Channel 1 frames pass
// between the STE link and the ADS link unchanged: the DTD cannot read the sealed ones and does not
// judge the clear ones (the end points do, and the transcript binds what they saw). It takes the L1
// handover from the STE and then seals/opens channel 2 under SK_D. One instance per DTD; it returns
// to Relaying after each session, ready for the next card.
#include <cstdint>
#include <deque>
#include <optional>
#include <string>

#include "cardperso/proto/actions.hpp"
#include "cardperso/proto/secure_channel.hpp"

namespace cardperso::proto {

class DtdRelay {
 public:
  enum class State { Relaying, Established };

  // The key this DTD shares with its terminal (pairing.hpp): L1 opens under it only.
  void pair(SecretBytes pairing_key) { pairing_key_ = std::move(pairing_key); }
  // A frame read from the STE link / from the ADS link.
  Actions on_ste_frame(Frame frame);
  Actions on_ads_frame(Frame frame);
  // Seal an application message on channel 2. Established only (std::logic_error otherwise).
  Actions send(MessageType type, ByteView plaintext);
  // End the session from the DTD: sealed Terminate to the ADS, SK_D erased, Close.
  Actions terminate(ErrorCode code = ErrorCode::None);

  State state() const { return state_; }
  std::uint32_t session() const { return session_; }
  std::size_t relayed_to_ads() const { return relayed_to_ads_; }
  std::size_t relayed_to_ste() const { return relayed_to_ste_; }

 private:
  Actions on_handover(Frame& frame);
  // T4 of the handshake relayed for session_ (from its H1..H4), once H4 has passed.
  std::optional<TranscriptHash> relayed_transcript() const;
  // Adds a T4 to handed_over_ (once; the oldest forgotten past kRemembered).
  void remember(const TranscriptHash& t4);
  Actions on_channel2(const Frame& frame);
  Actions end_session(ErrorCode code, std::string reason, bool tell_ads);

  State state_ = State::Relaying;
  std::uint32_t session_ = 0;  // learnt from the H2 the DTD relayed
  std::string serial_;         // learnt from the H1 the DTD relayed
  SecretBytes pairing_key_;
  std::optional<SecureChannel> channel_;
  // The handshake this DTD relayed for session_, so that an L1 is taken only for it (its T4 must be
  // the one these frames give), and the T4 of every L1 already taken: a second L1 with one of them
  // is refused, whatever it carries, because taking it would restart channel 2's counters under the
  // same SK_D and AES-GCM nonces would repeat. Bounded: the oldest are forgotten after kRemembered.
  static constexpr std::size_t kRemembered = 4096;
  Bytes h1_payload_, h2_payload_;
  std::optional<Block16> retailer_cryptogram_, issuer_cryptogram_;
  std::deque<TranscriptHash> handed_over_;
  std::size_t relayed_to_ads_ = 0;
  std::size_t relayed_to_ste_ = 0;
};

}  // namespace cardperso::proto
