#pragma once
// Retailer cards known to the issuer: their four keys and issuer code (sealed under the master key),
// their status, and the failed-authentication counter that locks a card after too many failures.
// Every change is one transaction that also appends to the audit log.
#include <chrono>
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

// The store's own copy of the key set (same fields as cardsim::RetailerKeys): the server does not
// link the card simulator; adsctl converts between the two.
struct RetailerKeys {
  std::uint8_t key_version = 1;
  SecretBytes k_ra, k_ia, k_s, k_d;  // AES-128 each
};

enum class RetailerStatus { Active, Revoked, Locked };
std::string_view to_string(RetailerStatus status);

struct RetailerSummary {
  std::string serial;
  RetailerStatus status = RetailerStatus::Active;
  int key_version = 0;
  int failed_auth_count = 0;
  std::optional<Seconds> first_failure_at;
  Seconds created_at;
  Seconds updated_at;
  std::optional<Seconds> locked_until;  // a lock's end (status Locked)
  int lockouts = 0;                     // locks in a row since the last success: each doubles the next
};

struct RetailerRecord : RetailerSummary {
  RetailerKeys keys;
};

// Failures count only from the card's own enrolled terminal (the terminal's signature is checked
// first), so a lock is the owner's own doing or a stolen terminal's; still it is not for ever: it
// ends by itself after `backoff`, doubled with each lock in a row, at most `max_backoff`.
struct LockoutPolicy {
  int max_failures = 5;                       // this many failures ...
  std::chrono::seconds window{std::chrono::hours(1)};  // ... counted from the first one within this window lock the card
  std::chrono::seconds backoff{std::chrono::minutes(15)};
  std::chrono::seconds max_backoff{std::chrono::hours(24)};
};

struct AuthFailureOutcome {
  int failures = 0;         // within the current window
  bool locked_now = false;  // this failure locked the retailer ...
  std::optional<Seconds> locked_until;  // ... until then
  RetailerStatus status = RetailerStatus::Active;
};

// Serial numbers: 10..20 decimal digits.
Result<void> check_retailer_serial(std::string_view serial);

inline constexpr std::size_t kIssuerCodeSize = 8;

class RetailerStore {
 public:
  // actor: who makes the changes, as written to the audit log ("adsctl:alice", "ads-server").
  RetailerStore(Database& db, const MasterKey& key, AuditLog& audit, std::string actor, LockoutPolicy policy = {},
                Clock clock = system_now);

  Result<void> enrol(std::string_view serial, const RetailerKeys& keys, ByteView issuer_code);
  // Empty optional: no such retailer. An error when the stored keys fail to open.
  Result<std::optional<RetailerRecord>> find(std::string_view serial);
  Result<std::vector<RetailerSummary>> list();
  Result<SecretBytes> issuer_code(std::string_view serial);
  Result<void> revoke(std::string_view serial);
  // Clears a lock and the failure count. A revoked retailer stays revoked.
  Result<void> unlock(std::string_view serial);
  // Ends a lock whose time is up (audited as retailer_lock_expired); true when it did. Nothing
  // happens to a card that is not locked or whose lock still runs.
  Result<bool> expire_lock(std::string_view serial, Seconds now);
  Result<AuthFailureOutcome> record_auth_failure(std::string_view serial, Seconds now);
  Result<void> record_auth_success(std::string_view serial);

 private:
  Result<std::optional<RetailerSummary>> summary_of(std::string_view serial, std::string_view what);

  Database& db_;
  const MasterKey& key_;
  AuditLog& audit_;
  std::string actor_;
  LockoutPolicy policy_;
  Clock clock_;
};

}  // namespace cardperso::ads
