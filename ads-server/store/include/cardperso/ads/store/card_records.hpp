#pragma once
// What the issuer keeps of each personalised card: every file and value written (enough to route calls
// and bill), the subscriber (personal data sealed), the retailer, the session and the times; and the
// assessment decisions taken on customers.
//
// A card's record is versioned: version 1 on personalisation, one more per modification; versions are
// never changed or removed (triggers refuse it). The files JSON holds non-secret values in clear; Ki and
// OPc only as references to the record's sealed columns; codes (issuer code, customer PIN/PUK) never:
//   [{"path":"3F00/7F20/6F07","value":"0809..."}, {"path":"3F00/7F20/FF02","secret":"ki"},
//    {"path":"3F00/0000","secret":"customer_code"}]
// The customer's PIN and PUK never reach the ADS at all; the entry only says the file was written.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cardperso/ads/store/audit_log.hpp"
#include "cardperso/ads/store/card_stock.hpp"
#include "cardperso/ads/store/clock.hpp"
#include "cardperso/ads/store/hlr_outbox.hpp"
#include "cardperso/ads/store/master_key.hpp"
#include "cardperso/ads/store/number_pools.hpp"
#include "cardperso/ads/store/sqlite_db.hpp"
#include "cardperso/common/result.hpp"
#include "cardperso/common/secret_bytes.hpp"

namespace cardperso::ads {

enum class FileValue { Clear, Ki, Opc, IssuerCode, CustomerCode };

struct WrittenFile {
  std::string path;       // "3F00/7F20/6F07": FIDs in upper-case hex, '/'-separated
  FileValue kind = FileValue::Clear;
  std::string value_hex;  // Clear only; must be empty for the others (they are never stored here)
};

// What a script put on the card.
struct CardContent {
  std::string imsi, msisdn;
  SecretBytes ki, opc;  // 16 bytes each
  std::string spn;      // as text
  std::string plmnsel;  // hex, as written to 6F30
  std::string profile;  // the card profile's name
  std::vector<WrittenFile> files;
};

struct PersonalisationRecord {
  std::string iccid;
  std::string retailer_serial;
  std::optional<std::int64_t> session_id, decision_id;
  CardContent content;
  SecretBytes issuer_code;         // the ADM1 code the script gave the card
  std::string personal_data_json;  // the customer details as entered (sealed in subscribers)
};

struct ModificationRecord {
  std::string iccid;
  std::string retailer_serial;
  std::optional<std::int64_t> session_id, decision_id;
  CardContent content;                     // ki/opc empty: unchanged from the previous version
  std::optional<SecretBytes> issuer_code;  // a new ADM1 code, when the script changed it
  std::string personal_data_json;          // empty: same subscriber as the previous version
};

struct CardRecordVersion {
  std::string iccid;
  int version = 0;
  std::string imsi, msisdn, spn, plmnsel, profile, files_json, retailer_serial;
  std::int64_t subscriber_id = 0;
  std::optional<std::int64_t> session_id, decision_id;
  Seconds created_at;
};

struct SubscriberKeys {
  SecretBytes ki, opc;
};

struct DecisionRecord {
  std::int64_t id = 0;
  std::string retailer_serial;
  std::optional<std::int64_t> session_id;
  bool go = false;
  std::vector<std::string> reasons;
  Seconds at;
};

inline constexpr std::size_t kMaxPersonalData = 16 * 1024;
inline constexpr std::size_t kMaxRecordFiles = 256;

class CardRecords {
 public:
  CardRecords(Database& db, const MasterKey& key, AuditLog& audit, std::string actor, Clock clock = system_now);

  // Own transaction: the card must be in_progress; its IMSI and MSISDN (for a modification: any new
  // one) must be reserved for it; they are committed, the subscriber and the record written, the card
  // marked personalised and the audit log appended, all or nothing.
  Result<void> record_personalisation(const PersonalisationRecord& record);
  // Returns the new version. A number no longer used by the card is released.
  Result<int> record_modification(const ModificationRecord& record);
  // Both queue the HLR job that provisions the new version (hlr_outbox.hpp) in the same transaction; a
  // modification that changes the IMSI first queues the removal of the old subscriber.

  // Own transaction: takes a personalised card out of service (lost, stolen, returned): spoiled for
  // good, its numbers retired (never handed out while the card may exist; `adsctl pool
  // release-retired` once it is destroyed), its subscriber's removal from the HLR queued. Audited.
  Result<void> retire(std::string_view iccid, std::string_view reason);

  // Own transaction: reserves a fresh IMSI and MSISDN for a card (both or neither).
  struct Numbers {
    std::string imsi, msisdn;
  };
  Result<Numbers> reserve_numbers(std::string_view iccid);
  // Own transaction: a new MSISDN for a personalised card (a modification); a retry of a failed one gets
  // the same number back. It is committed, and the old one released, when the modification is recorded.
  Result<std::string> reserve_new_msisdn(std::string_view iccid);

  Result<std::int64_t> record_decision(std::string_view retailer_serial, std::optional<std::int64_t> session_id,
                                       bool go, const std::vector<std::string>& reasons);
  Result<std::optional<DecisionRecord>> decision(std::int64_t id);

  // Oldest first; no secrets.
  Result<std::vector<CardRecordVersion>> history(std::string_view iccid);
  Result<SubscriberKeys> keys_of(std::string_view iccid, int version);
  Result<std::string> personal_data(std::int64_t subscriber_id);

 private:
  Result<std::int64_t> insert_subscriber(std::string_view personal_data_json);
  Result<void> insert_version(std::string_view iccid, int version, const CardContent& content, ByteView ki,
                              ByteView opc, std::string_view retailer, std::int64_t subscriber_id,
                              std::optional<std::int64_t> session_id, std::optional<std::int64_t> decision_id);

  Database& db_;
  const MasterKey& key_;
  AuditLog& audit_;
  std::string actor_;
  Clock clock_;
  CardStock stock_;
  NumberPools pools_;
  HlrOutbox hlr_;
};

}  // namespace cardperso::ads
