#pragma once
// The append-only audit log. Each entry carries the hash of the previous one:
//   hash = HMAC-SHA-256(chain key, "cardperso/v1/audit" || prev_hash || seq || at || actor || event ||
//                       subject || detail)   (integers as 8 bytes big-endian, strings length-prefixed)
// with prev_hash of the first entry 32 zero bytes. The chain key is derived from the master key, so
// someone who can write the database file but has not the key cannot rebuild the chain after an edit.
// A trigger refuses UPDATE and DELETE. Entries never hold keys, PINs or codes.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cardperso/ads/store/clock.hpp"
#include "cardperso/ads/store/master_key.hpp"
#include "cardperso/ads/store/sqlite_db.hpp"
#include "cardperso/common/result.hpp"

namespace cardperso::ads {

struct AuditEntry {
  std::int64_t seq = 0;
  Seconds at;
  std::string actor, event, subject, detail;
};

struct AuditVerification {
  std::int64_t entries_checked = 0;
  std::optional<std::int64_t> first_broken_seq;  // empty: the chain is intact
  std::string problem;                           // what is wrong at first_broken_seq
  bool intact() const { return !first_broken_seq.has_value(); }
};

class AuditLog {
 public:
  AuditLog(Database& db, const MasterKey& key, Clock clock = system_now);

  // Must run inside the caller's transaction (Database::with_transaction), so the entry commits or
  // rolls back with the change it records; outside one it is a programmer error (throws). The entry
  // takes its place in the chain when the transaction commits (Database::AuditDraft).
  Result<void> append(std::string_view actor, std::string_view event, std::string_view subject,
                              std::string_view detail);
  // The last n entries, oldest first.
  Result<std::vector<AuditEntry>> last(int n);
  // Walks the whole chain and reports the first broken link.
  Result<AuditVerification> verify();

 private:
  Database& db_;
  std::shared_ptr<const SecretBytes> chain_key_;
  Clock clock_;
};

}  // namespace cardperso::ads
