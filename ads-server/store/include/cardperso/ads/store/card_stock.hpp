#pragma once
// The blank cards the issuer owns, by ICCID, imported in batches:
//   - a secret batch: one 16-byte batch secret (sealed) and an ICCID range; each card's master code is
//     derived when needed (card_codes.hpp), so no list of codes exists;
//   - a CSV batch: a manufacturer file in pySim-prog form (csv_batch.hpp); each card's code is sealed.
// A batch is assigned to one retailer; a retailer may only personalise cards of its own stock.
//
// Card states: blank -> in_progress -> personalised, or -> failed (retry allowed) -> ... After
// kMaxPersonalisationAttempts failures that count — attempts that reached the card (the terminal's sealed result says
// what the card answered), or when the card refused its opening code (its ADM tries are few and never
// come back, so the ADS does not try again), the card is spoiled: final. An attempt without such
// evidence — the session ended before the result, the server restarted, the terminal did not run the
// script — is not held against the card: a broken line never spoils stock.
// A failed card keeps its reserved numbers and its pending issuer code (chosen once, before its first
// script leaves): the retry rewrites the same values, and opens with whichever ADM1 code the card may
// hold (docs/personalisation.md §5). A spoiled card's numbers are retired (number_pools.hpp).
// A modification runs on a personalised card: in_progress while its script runs, then personalised again
// (also when it fails: the card keeps its previous record; the failure is noted on the card).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cardperso/ads/store/audit_log.hpp"
#include "cardperso/ads/store/clock.hpp"
#include "cardperso/ads/store/master_key.hpp"
#include "cardperso/ads/store/sqlite_db.hpp"
#include "cardperso/common/result.hpp"
#include "cardperso/common/secret_bytes.hpp"

namespace cardperso::ads {

enum class CardState { Blank, InProgress, Personalised, Failed, Spoiled };
std::string_view to_string(CardState state);
std::optional<CardState> parse_card_state(std::string_view text);

enum class BatchKind { Secret, Csv };
std::string_view to_string(BatchKind kind);

inline constexpr int kMaxPersonalisationAttempts = 3;
inline constexpr std::uint64_t kMaxSecretBatchCards = 100000;
inline constexpr std::size_t kMaxFailureText = 256;  // failed_step and failure_reason are cut to this

struct BatchSummary {
  std::int64_t id = 0;
  std::string name;
  BatchKind kind = BatchKind::Secret;
  std::optional<std::string> retailer_serial;
  std::int64_t card_count = 0;
  std::int64_t blank = 0, in_progress = 0, personalised = 0, failed = 0, spoiled = 0;
  Seconds created_at;
};

struct CardSummary {
  std::string iccid;
  std::string batch_name;
  std::optional<std::string> retailer_serial;  // of the batch
  CardState state = CardState::Blank;
  std::string failed_step, failure_reason;     // of the last failure, if any
  int attempts = 0;                            // scripts that left for the card
  int failures = 0;                            // failures that count: kMaxPersonalisationAttempts spoil it
  Seconds updated_at;
};

enum class CardPurpose { NewCard, Modification };

enum class CardRefusal {
  None,
  UnknownIccid,         // not in any imported batch
  UnassignedBatch,      // its batch is not assigned to any retailer
  OtherRetailer,        // its batch belongs to another retailer
  AlreadyPersonalised,  // a new personalisation of a personalised card
  NotPersonalised,      // a modification of a card that was never personalised
  InProgress,           // a script is running on it now
  Spoiled,
};

enum class OpeningCode { Master, Issuer };

struct CardOpening {
  std::string iccid;
  CardState state = CardState::Blank;
  OpeningCode code_kind = OpeningCode::Master;
  SecretBytes code;  // 8 bytes: what the STE presents as ADM1
  int attempts = 0;
  // A retry where the ADS cannot know which code the card holds: the other one, presented once if
  // the card refuses `code` with 9804 (step 1's VERIFY alternative). Empty: none.
  SecretBytes alternative;
  bool has_alternative() const { return !alternative.empty(); }
  // The key the card proves itself with (docs/cards.md §2.3), derived from its batch secret; empty for
  // a card of a CSV batch, which has none.
  SecretBytes card_key;
};

// What the ADS knows of the ADM1 code a failed card holds after an attempt.
enum class CodeOnCard {
  Master,               // the manufacturer master code: the attempt stopped before the code update
  Pending,              // the pending issuer code: the attempt got past the code update
  Unknown,              // either; the master code likelier (the failure step is not known to be after it)
  UnknownPendingFirst,  // either; the pending code likelier
};

struct CardLookup {
  CardRefusal refusal = CardRefusal::None;
  std::string message;  // why it is refused, for the retailer and the log
  CardOpening opening;  // only when not refused
  bool refused() const { return refusal != CardRefusal::None; }
};

struct CardFailure {
  std::string step;    // the script step reached, e.g. "3/17 UPDATE BINARY 6F07"
  std::string reason;  // e.g. "card removed"
  bool code_refused = false;                // the card refused its opening code(s): spoil, never retry
  std::optional<CodeOnCard> code_on_card;   // what this attempt left on the card; nullopt: as before it
  bool nothing_written = false;             // this attempt wrote nothing to the card (before the script,
                                            // or stopped at its VERIFY): on a first attempt, numbers go back
  bool reported = true;                     // the terminal's sealed result says what the card answered;
                                            // false: no result (the attempt is not counted against the card)
};

class CardStock {
 public:
  CardStock(Database& db, const MasterKey& key, AuditLog& audit, std::string actor, Clock clock = system_now);

  // ICCIDs prefix || serial (18 digits) || Luhn, serial = first .. first+count-1, as
  // `cardperso-mkcards blank-batch --iccid-prefix P --first N --count C` makes them. Returns the batch id.
  Result<std::int64_t> import_secret_batch(std::string_view name, ByteView secret, std::string_view iccid_prefix,
                                           std::uint64_t first, std::uint64_t count);
  // The whole file in one transaction: any error imports nothing.
  Result<std::int64_t> import_csv_batch(std::string_view name, const std::string& path);
  Result<std::int64_t> import_csv_text(std::string_view name, std::string_view text, std::string_view source);
  // The retailer must be enrolled and not revoked. Reassigning moves the batch's remaining stock.
  Result<void> assign_batch(std::string_view name, std::string_view retailer_serial);

  Result<std::vector<BatchSummary>> list_batches();
  Result<std::optional<CardSummary>> find_card(std::string_view iccid);
  Result<std::vector<CardSummary>> list_cards(std::optional<CardState> state, int limit = 1000);

  // May this retailer open this card for this purpose, and with which code? Refusals are values;
  // errors are database or tampering problems.
  Result<CardLookup> inspect_card_for(std::string_view retailer_serial, std::string_view iccid, CardPurpose purpose);
  // The same, a refusal becoming an error with its message.
  Result<CardOpening> lookup_card_for(std::string_view retailer_serial, std::string_view iccid, CardPurpose purpose);
  // The manufacturer master code of a card that is still blank and was never tried, whatever its batch's
  // assignment: `adsctl retailer enrol --reader --from-stock` opens such a card to make it a retailer card.
  Result<SecretBytes> blank_master_code(std::string_view iccid);

  // Own transaction. NewCard: blank or failed -> in_progress, attempts + 1. Modification: personalised ->
  // in_progress. Refuses any other state, so two sessions cannot run a script on one card. Returns attempts.
  Result<int> begin_personalisation(std::string_view iccid, CardPurpose purpose);
  // Own transaction, for a NewCard that is in_progress: the issuer code its script writes, chosen at
  // random and stored sealed on the first call, the same one on every later call (every retry).
  Result<SecretBytes> pending_issuer_code(std::string_view iccid);
  // Own transaction. in_progress -> failed (or spoiled, see above; personalised again for a modification).
  // The numbers reserved for the card stay reserved for it, unless a first attempt wrote nothing (released)
  // or the card is spoiled (retired unless nothing could reach it). Returns the new state.
  Result<CardState> mark_failed(std::string_view iccid, const CardFailure& failure);
  // At startup: every in_progress card belonged to a session that died with the server: mark_failed
  // with step "unknown", reason "server restarted", code on card unknown. Returns how many.
  // On PostgreSQL only the cards whose daemon is gone (Database::owner_gone_sql), at any time: a
  // daemon runs it at startup and whenever a card it is asked for is in progress.
  Result<int> fail_interrupted();

  // Inside the caller's transaction (CardRecords uses them): in_progress -> personalised, with the
  // issuer code now on the card (sealed); a modification may pass a new issuer code or none.
  Result<void> mark_personalised(std::string_view iccid, ByteView issuer_code);
  Result<void> mark_modified(std::string_view iccid, std::optional<ByteView> new_issuer_code);

 private:
  Result<std::int64_t> insert_batch(std::string_view name, BatchKind kind, std::int64_t count, const Bytes* sealed_secret);
  Result<CardState> fail_in_transaction(std::string_view iccid, const CardFailure& failure);

  Database& db_;
  const MasterKey& key_;
  AuditLog& audit_;
  std::string actor_;
  Clock clock_;
};

}  // namespace cardperso::ads
