#pragma once
// Handshake transcript and key confirmation (proto/PROTOCOL.md §Transcript).
//
// transcript = SHA-256("cardperso v2 transcript" || item...), item = tag 1 || length 2 || value:
//   tag 1 H1 payload, tag 2 session id (4 bytes), tag 3 H2 payload, tag 4 retailer cryptogram,
//   tag 5 issuer cryptogram (only in the H4 transcript).
// confirmation = first 16 bytes of HMAC-SHA-256(SK, label || transcript), one label per key and
// sender, so a confirmation can never be reflected to the side that made it.
#include <array>
#include <cstdint>

#include "cardperso/common/bytes.hpp"
#include "cardperso/common/secret_bytes.hpp"
#include "cardperso/proto/messages.hpp"

namespace cardperso::proto {

using TranscriptHash = std::array<std::uint8_t, 32>;

struct TranscriptInputs {
  ByteView h1_payload;  // exactly as sent / received
  std::uint32_t session = 0;
  ByteView h2_payload;
  ByteView retailer_cryptogram;
};

// H1, session, H2 (retailer_cryptogram unused): the salt of the session-key derivation (session_keys.hpp).
TranscriptHash transcript_h2(const TranscriptInputs& in);
// What the STE confirms in H3: H1, session, H2, retailer cryptogram.
TranscriptHash transcript_h3(const TranscriptInputs& in);
// What the ADS confirms in H4 and both sides bind every sealed message to: all of the above plus the
// issuer cryptogram.
TranscriptHash transcript_h4(const TranscriptInputs& in, ByteView issuer_cryptogram);

enum class ConfirmedKey { SkS, SkD };
enum class Confirmer { Ste, Ads };

std::string_view confirmation_label(ConfirmedKey key, Confirmer by);
Block16 key_confirmation(const SecretBytes& session_key, ConfirmedKey key, Confirmer by, const TranscriptHash& th);

}  // namespace cardperso::proto
