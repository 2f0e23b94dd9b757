#pragma once
// Plaintext bodies of the sealed personalisation messages (proto/PROTOCOL.md §Personalisation).
// They travel inside the secure channel (channel 1 under SK_S, channel 2 under SK_D), so these
// layouts are what the two end points see after opening a frame. Fixed big-endian layouts with
// length-prefixed fields; decode() is strict (exact length, bounds, character sets) and says why.
//
// Flow after the handshake, per card (several cards may follow in one session):
//   C1 CustomerDetails  DTD->ADS ch2   the customer's details (JSON) or a modification request
//   C2 Decision         ADS->DTD ch2   go / no-go with reasons; on go also ADS->STE ch1
//   P1 CardInserted     STE->ADS ch1   ICCID and ATR of the customer card in the reader
//   K1 CardCheck        ADS->STE ch1   what the card will hold (customer name, ID hint, ICCID, or the
//                                      changes) for the terminal's display, and a challenge for the card
//   K2 CardCheckAnswer  STE->ADS ch1   the clerk's keypad answer (OK / cancel) and the card's proof
//   P2 Script           ADS->STE ch1   the whole personalisation script (perso::encode_script)
//   P3 ScriptResult     STE->ADS ch1   every status word, SRES||Kc (perso::encode_script_result)
//   P4 Done             ADS->STE ch1 and ADS->DTD ch2: outcome, ICCID, MSISDN
//   Receipt             ADS->DTD ch2   receipt document (JSON) for the DTD to print
//   Terminate           DTD->ADS ch2 when the shop has no further customer; the ADS ends the session.
// P2 and P3 bodies are the perso library's encodings, carried as they are (they hold codes and Ki:
// keep them in SecretBytes).
#include <cstdint>
#include <string>
#include <string_view>

#include "cardperso/common/bytes.hpp"
#include "cardperso/common/result.hpp"
#include "cardperso/proto/messages.hpp"

namespace cardperso::proto {

enum class RequestKind : std::uint8_t { NewCard = 1, Modification = 2 };

inline constexpr std::size_t kMaxDetailsJson = 4096;
inline constexpr std::size_t kMaxReasonText = 1024;
inline constexpr std::size_t kMaxIccidDigits = 20;
inline constexpr std::size_t kMaxAtr = 33;
inline constexpr std::size_t kMaxMsisdn = 20;
inline constexpr std::size_t kMaxReceiptJson = 8192;
inline constexpr std::size_t kCardChallengeSize = 16;  // also the size of the card's proof
inline constexpr std::size_t kMaxShownName = 128;
inline constexpr std::size_t kMaxShownId = 64;
inline constexpr std::size_t kMaxShownChanges = 1024;

// C1: 0 kind 1 | 1 json_len 2 (1..4096) | 3 json (UTF-8 text, no NUL)
// NewCard: the customer's details. Modification: {"iccid": "...", "changes": {"spn": ..., "plmnsel": [...]}}
struct CustomerDetailsMsg {
  static constexpr MessageType kType = MessageType::CustomerDetails;
  RequestKind kind = RequestKind::NewCard;
  std::string json;
  Bytes encode() const;
  static Result<CustomerDetailsMsg> decode(ByteView plaintext);
};

// C2: 0 go 1 (0|1) | 1 kind 1 | 2 decision_id 8 | 10 reasons_len 2 (0..1024) | 12 reasons (printable ASCII, "; "-separated)
struct DecisionMsg {
  static constexpr MessageType kType = MessageType::Decision;
  bool go = false;
  RequestKind kind = RequestKind::NewCard;
  std::uint64_t decision_id = 0;
  std::string reasons;
  Bytes encode() const;
  static Result<DecisionMsg> decode(ByteView plaintext);
};

// P1: 0 iccid_len 1 (18..20) | 1 iccid (digits) | atr_len 1 (0..33) | atr
struct CardInsertedMsg {
  static constexpr MessageType kType = MessageType::CardInserted;
  std::string iccid;
  Bytes atr;
  Bytes encode() const;
  static Result<CardInsertedMsg> decode(ByteView plaintext);
};

// K1, after P1 and before any code leaves the ADS: what the terminal shows the clerk before it writes,
// as the ADS has it (not as the shop PC showed it), and the challenge the card must answer with its
// card key (docs/cards.md §2.3).
// 0 kind 1 | 1 challenge_len 1 (0 or 16) | challenge | iccid_len 1 (18..20) | iccid (digits)
//   | name_len 1 (0..128) | name (UTF-8, no control characters) | id_len 1 (0..64) | id (printable ASCII)
//   | changes_len 2 (0..1024) | changes (printable ASCII)
// New card: name and id ("passport ending 1234"), no changes. Modification: the name on record and the
// changes ("SPN: ...; PLMN list: ..."). An empty challenge: the card's batch has no card keys.
// What K1's name may hold: well-formed UTF-8 without control characters.
bool displayable_utf8(std::string_view text);

struct CardCheckMsg {
  static constexpr MessageType kType = MessageType::CardCheck;
  RequestKind kind = RequestKind::NewCard;
  Bytes challenge;
  std::string iccid;
  std::string name;
  std::string id;
  std::string changes;
  Bytes encode() const;
  static Result<CardCheckMsg> decode(ByteView plaintext);
};

enum class CheckAnswer : std::uint8_t {
  Confirmed = 0,     // the clerk pressed OK; proof holds the card's answer when a challenge came
  Cancelled = 1,     // the clerk pressed cancel on the keypad: nothing is written
  CardSilent = 2,    // the card did not answer the challenge (no card key, or not this card)
};

// K2: 0 answer 1 (0..2) | 1 proof_len 1 (0 or 16) | proof
struct CardCheckAnswerMsg {
  static constexpr MessageType kType = MessageType::CardCheckAnswer;
  CheckAnswer answer = CheckAnswer::Cancelled;
  Bytes proof;
  Bytes encode() const;
  static Result<CardCheckAnswerMsg> decode(ByteView plaintext);
};

enum class PersoOutcome : std::uint8_t {
  Personalised = 0,   // new card written and proven (RUN GSM ALGORITHM matched), recorded
  Modified = 1,       // modification written and recorded as a new version
  Failed = 2,         // the script stopped or the proof did not match; card recorded as failed
  Refused = 3,        // the ADS refused the card before any write (unknown, other retailer, cancelled on
                      // the keypad, no card proof, ...): at most the ICCID read and CARD PROOF reached it
};

// P4: 0 outcome 1 | 1 iccid_len 1 (0..20) | iccid | msisdn_len 1 (0..20) | msisdn (digits, optional leading '+')
//     | reason_len 2 (0..1024) | reason (printable ASCII)
struct DoneMsg {
  static constexpr MessageType kType = MessageType::Done;
  PersoOutcome outcome = PersoOutcome::Failed;
  std::string iccid;
  std::string msisdn;
  std::string reason;
  Bytes encode() const;
  static Result<DoneMsg> decode(ByteView plaintext);
};

// Receipt: 0 json_len 2 (1..8192) | 2 json (UTF-8 text, no NUL). Never holds a code, PIN or key.
struct ReceiptMsg {
  static constexpr MessageType kType = MessageType::Receipt;
  std::string json;
  Bytes encode() const;
  static Result<ReceiptMsg> decode(ByteView plaintext);
};

}  // namespace cardperso::proto
