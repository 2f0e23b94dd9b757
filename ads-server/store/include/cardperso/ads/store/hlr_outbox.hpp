#pragma once
// The HLR provisioning outbox: what the operator's HLR must be told, written in the same transaction as
// the change that makes it necessary, and delivered later by the provisioner (ads-server/hlr). So the HLR
// can be down, or the ADS killed mid-delivery, and nothing is lost: an undelivered job is retried, and
// every job is idempotent (create-or-update; deleting an absent subscriber is done).
//
// Jobs are delivered in order, except that one that keeps failing holds back only the later jobs of the
// same card or IMSI: one subscriber the HLR refuses does not stop every other card from going live.
// A job holds no secret: a provision job names the record version whose sealed Ki/OPc it delivers.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cardperso/ads/store/audit_log.hpp"
#include "cardperso/ads/store/clock.hpp"
#include "cardperso/ads/store/sqlite_db.hpp"
#include "cardperso/common/result.hpp"

namespace cardperso::ads {

enum class HlrAction { Provision, Remove };
std::string_view to_string(HlrAction action);

struct HlrJob {
  std::int64_t id = 0;
  std::string iccid;
  HlrAction action = HlrAction::Provision;
  int record_version = 0;  // Provision: the card record version to provision
  std::string imsi;        // the subscriber's IMSI in the HLR
  int attempts = 0;        // deliveries tried so far
  Seconds created_at, next_attempt_at;
  std::string last_error;
  std::optional<Seconds> delivered_at;
};

struct HlrBacklog {
  std::int64_t pending = 0, delivered = 0;
  std::optional<Seconds> oldest_pending_since;  // created_at of the oldest undelivered job
  std::optional<Seconds> last_delivered_at;
  std::optional<HlrJob> stuck;  // the undelivered job with the most attempts (its last error), if any tried
};

inline constexpr std::size_t kMaxHlrErrorText = 256;

class HlrOutbox {
 public:
  HlrOutbox(Database& db, AuditLog& audit, std::string actor, Clock clock = system_now);

  // Inside the caller's transaction (the one that commits the record or retires the card).
  Result<std::int64_t> enqueue_provision(std::string_view iccid, int record_version, std::string_view imsi);
  Result<std::int64_t> enqueue_remove(std::string_view iccid, std::string_view imsi);

  // Jobs to deliver now, in order: undelivered, due, and not behind an undelivered job of the same card
  // or IMSI.
  Result<std::vector<HlrJob>> due(int limit = 64);
  // When the next job falls due that is not behind another (in the past when one is due now); nothing when
  // none waits.
  Result<std::optional<Seconds>> next_due();
  // Own transaction: delivered, with an audit entry (hlr_provisioned / hlr_removed).
  Result<void> mark_delivered(const HlrJob& job);
  // Own transaction: one more attempt, its error (cut to kMaxHlrErrorText) and when to try again.
  Result<void> mark_failed(const HlrJob& job, std::string_view error, Seconds retry_at);

  Result<HlrBacklog> backlog();
  Result<std::optional<HlrJob>> job(std::int64_t id);
  // The jobs of one card, oldest first.
  Result<std::vector<HlrJob>> jobs_of(std::string_view iccid);
  // Own transaction: a provision job for the latest record of every card in service (a new HLR, or one
  // that lost data). Audited (hlr_sync). Returns how many.
  Result<int> enqueue_everything();

 private:
  Result<std::int64_t> enqueue(std::string_view iccid, HlrAction action, std::optional<int> version,
                               std::string_view imsi);

  Database& db_;
  AuditLog& audit_;
  std::string actor_;
  Clock clock_;
};

}  // namespace cardperso::ads
