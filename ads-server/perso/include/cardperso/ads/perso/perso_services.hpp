#pragma once
// What a personalisation session needs from the issuer's side: the assessment policy, the stock,
// the number pools, the card records, and the configuration (card profile, SPN, PLMN list). Behind
// an interface so the session (perso_session.hpp) stays free of I/O and of SQLite; the real
// implementation is SqlitePersoServices (perso_services_sqlite.hpp).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cardperso/ads/policy/assessment_policy.hpp"
#include "cardperso/ads/policy/customer_details.hpp"
#include "cardperso/ads/perso/receipt.hpp"
#include "cardperso/ads/store/card_records.hpp"
#include "cardperso/ads/store/card_stock.hpp"
#include "cardperso/ads/store/clock.hpp"
#include "cardperso/common/result.hpp"
#include "cardperso/perso/card_profile.hpp"
#include "cardperso/perso/sim_encoding.hpp"

namespace cardperso::ads {

struct PersoConfig {
  perso::CardProfile profile;
  std::string spn = "cardperso";    // written to EF_SPN of every new card
  std::vector<perso::Plmn> plmns;   // EF_PLMNsel; empty: the home PLMN taken from each card's IMSI
  int mnc_length = 2;               // EF_AD, and how the home PLMN is cut from the IMSI
  // Refuse cards that cannot prove they are the stock card they claim (a CSV batch's: no card key).
  bool require_card_key = false;
};

// The latest record of a personalised card, for a modification.
struct CurrentRecord {
  CardRecordVersion version;
  SubscriberKeys keys;        // Ki and OPc of that version (the proof of the modification)
  std::string customer_name;  // for the receipt; empty when the stored details carry none
};

class PersoServices {
 public:
  virtual ~PersoServices() = default;

  // The configuration in force now, as an immutable snapshot: a reload (ads-server on SIGHUP)
  // installs a new one for the cards that start afterwards, so a card keeps the snapshot it started
  // with until its script is done.
  virtual std::shared_ptr<const PersoConfig> config() const = 0;
  virtual Seconds now() = 0;

  // The built-in rules, then the external command if one is configured. May block up to the
  // command's timeout when assess_may_block(): the adapter then runs it off its event loop. It
  // touches no database, so it may run on another thread than every other call here.
  virtual policy::Decision assess(const policy::CustomerDetails& details) = 0;
  virtual bool assess_may_block() const = 0;

  virtual Result<std::int64_t> record_decision(std::string_view retailer_serial, std::optional<std::int64_t> session_id,
                                               bool go, const std::vector<std::string>& reasons) = 0;
  virtual Result<CardLookup> inspect_card(std::string_view retailer_serial, std::string_view iccid,
                                          CardPurpose purpose) = 0;
  virtual Result<int> begin_personalisation(std::string_view iccid, CardPurpose purpose) = 0;
  virtual Result<CardRecords::Numbers> reserve_numbers(std::string_view iccid) = 0;
  // A modification's new MSISDN (CardRecords::reserve_new_msisdn).
  virtual Result<std::string> reserve_new_msisdn(std::string_view iccid) = 0;
  // The issuer code a NewCard script writes: chosen once, stored before the script leaves, the same
  // on every retry (CardStock::pending_issuer_code).
  virtual Result<SecretBytes> pending_issuer_code(std::string_view iccid) = 0;
  virtual Result<CurrentRecord> current_record(std::string_view iccid) = 0;
  virtual Result<void> record_personalisation(const PersonalisationRecord& record) = 0;
  virtual Result<int> record_modification(const ModificationRecord& record) = 0;
  virtual Result<CardState> mark_failed(std::string_view iccid, const CardFailure& failure) = 0;
  // The receipt of the card's latest record given again (a shop whose P4 was lost), audited as
  // receipt_reissued. Changes nothing else: no number, no state.
  // An audit entry for a card the terminal's check stopped before anything was written: event
  // "card_cancelled" (the clerk pressed cancel), "card_proof_failed" (the card did not prove it is
  // that stock card), "card_without_key" (policy refuses cards without a card key).
  virtual Result<void> audit_card_check(std::string_view event, std::string_view iccid, std::string_view detail) = 0;
  virtual Result<ReceiptData> reissue_receipt(std::string_view iccid, std::string_view retailer_serial,
                                              std::optional<std::int64_t> session_id) = 0;
};

}  // namespace cardperso::ads
