#include "cardperso/ads/store/hlr_outbox.hpp"

#include "store_guards.hpp"

namespace cardperso::ads {

namespace {

constexpr const char* kJobColumns =
    "id, iccid, action, record_version, imsi, attempts, created_at, next_attempt_at, last_error, delivered_at";

HlrJob read_job(const Statement& s) {
  HlrJob j;
  j.id = s.column_int(0);
  j.iccid = s.column_text(1);
  j.action = s.column_text(2) == "remove" ? HlrAction::Remove : HlrAction::Provision;
  j.record_version = static_cast<int>(s.column_optional_int(3).value_or(0));
  j.imsi = s.column_text(4);
  j.attempts = static_cast<int>(s.column_int(5));
  j.created_at = from_unix(s.column_int(6));
  j.next_attempt_at = from_unix(s.column_int(7));
  j.last_error = s.column_text(8);
  if (auto at = s.column_optional_int(9)) j.delivered_at = from_unix(*at);
  return j;
}

// A job waits behind an undelivered earlier job of the same card or IMSI.
constexpr const char* kNotBehindAnother =
    "NOT EXISTS (SELECT 1 FROM hlr_jobs e WHERE e.delivered_at IS NULL AND e.id < j.id "
    "AND (e.iccid = j.iccid OR e.imsi = j.imsi))";

std::string jobs_query(std::string_view where_and_order) {
  return std::string("SELECT ") + kJobColumns + " FROM hlr_jobs j " + std::string(where_and_order);
}

}  // namespace

std::string_view to_string(HlrAction action) { return action == HlrAction::Remove ? "remove" : "provision"; }

HlrOutbox::HlrOutbox(Database& db, AuditLog& audit, std::string actor, Clock clock)
    : db_(db), audit_(audit), actor_(std::move(actor)), clock_(std::move(clock)) {}

Result<std::int64_t> HlrOutbox::enqueue(std::string_view iccid, HlrAction action, std::optional<int> version,
                                        std::string_view imsi) {
  detail::require_transaction(db_, "HlrOutbox::enqueue");
  const std::int64_t now = to_unix(clock_());
  std::optional<std::int64_t> v;
  if (version) v = *version;
  return db_.insert_id(
      "INSERT INTO hlr_jobs (iccid, action, record_version, imsi, created_at, next_attempt_at) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?5) RETURNING id",
      "HLR outbox: add a job", iccid, to_string(action), v, imsi, now);
}

Result<std::int64_t> HlrOutbox::enqueue_provision(std::string_view iccid, int record_version, std::string_view imsi) {
  return enqueue(iccid, HlrAction::Provision, record_version, imsi);
}

Result<std::int64_t> HlrOutbox::enqueue_remove(std::string_view iccid, std::string_view imsi) {
  return enqueue(iccid, HlrAction::Remove, std::nullopt, imsi);
}

Result<std::vector<HlrJob>> HlrOutbox::due(int limit) {
  return db_.read_rows(
      jobs_query(std::string("WHERE j.delivered_at IS NULL AND j.next_attempt_at <= ?1 AND ") + kNotBehindAnother +
                 " ORDER BY j.id LIMIT ?2"),
      "HLR outbox: jobs due", read_job, to_unix(clock_()), std::int64_t{limit});
}

Result<std::optional<Seconds>> HlrOutbox::next_due() {
  auto row = db_.first_row(std::string("SELECT min(j.next_attempt_at) FROM hlr_jobs j WHERE j.delivered_at IS NULL AND ") +
                               kNotBehindAnother,
                           "HLR outbox: next due");
  if (!row) return row.error();
  std::optional<Seconds> at;
  if (*row) {
    if (auto t = (*row)->column_optional_int(0)) at = from_unix(*t);
  }
  return at;
}

Result<void> HlrOutbox::mark_delivered(const HlrJob& job) {
  return db_.with_transaction([&]() -> Result<void> {
    auto changed = db_.update(
        "UPDATE hlr_jobs SET delivered_at = ?2, attempts = attempts + 1, last_error = '' "
        "WHERE id = ?1 AND delivered_at IS NULL",
        "HLR outbox: mark delivered", job.id, to_unix(clock_()));
    if (!changed) return changed.error();
    if (*changed == 0) return {};  // already marked: nothing more to record
    std::string detail = "job=" + std::to_string(job.id) + " imsi=" + job.imsi;
    if (job.action == HlrAction::Provision) detail += " version=" + std::to_string(job.record_version);
    detail += " attempts=" + std::to_string(job.attempts + 1);
    auto logged = audit_.append(actor_, job.action == HlrAction::Remove ? "hlr_removed" : "hlr_provisioned", job.iccid,
                                detail);
    if (!logged) return logged.error();
    return {};
  });
}

Result<void> HlrOutbox::mark_failed(const HlrJob& job, std::string_view error, Seconds retry_at) {
  return db_.with_transaction([&]() -> Result<void> {
    return db_.run(
        "UPDATE hlr_jobs SET attempts = attempts + 1, last_error = ?2, next_attempt_at = ?3 "
        "WHERE id = ?1 AND delivered_at IS NULL",
        "HLR outbox: record a failed delivery", job.id, std::string(error.substr(0, kMaxHlrErrorText)),
        to_unix(retry_at));
  });
}

Result<HlrBacklog> HlrOutbox::backlog() {
  HlrBacklog b;
  auto counts = db_.first_row(
      "SELECT count(*) FILTER (WHERE delivered_at IS NULL), count(*) FILTER (WHERE delivered_at IS NOT NULL), min(CASE WHEN delivered_at IS NULL THEN "
      "created_at END), max(delivered_at) FROM hlr_jobs",
      "HLR outbox: backlog");
  if (!counts) return counts.error();
  if (*counts) {
    const Statement& s = **counts;
    b.pending = s.column_optional_int(0).value_or(0);
    b.delivered = s.column_optional_int(1).value_or(0);
    if (auto at = s.column_optional_int(2)) b.oldest_pending_since = from_unix(*at);
    if (auto at = s.column_optional_int(3)) b.last_delivered_at = from_unix(*at);
  }
  auto stuck = db_.read_row(jobs_query("WHERE j.delivered_at IS NULL AND j.attempts > 0 ORDER BY j.attempts DESC, "
                                       "j.id LIMIT 1"),
                            "HLR outbox: most tried job", read_job);
  if (!stuck) return stuck.error();
  b.stuck = std::move(*stuck);
  return b;
}

Result<std::optional<HlrJob>> HlrOutbox::job(std::int64_t id) {
  return db_.read_row(jobs_query("WHERE j.id = ?1"), "HLR outbox: read a job", read_job, id);
}

Result<std::vector<HlrJob>> HlrOutbox::jobs_of(std::string_view iccid) {
  return db_.read_rows(jobs_query("WHERE j.iccid = ?1 ORDER BY j.id"), "HLR outbox: a card's jobs", read_job, iccid);
}

Result<int> HlrOutbox::enqueue_everything() {
  return db_.with_transaction([&]() -> Result<int> {
    const std::int64_t now = to_unix(clock_());
    // Every card with a record that is not out of service; a card being modified right now included
    // (its record stands until the modification commits, which queues its own job after this one).
    auto added = db_.update(
        "INSERT INTO hlr_jobs (iccid, action, record_version, imsi, created_at, next_attempt_at) "
        "SELECT r.iccid, 'provision', r.version, r.imsi, ?1, ?1 FROM card_records r JOIN cards c ON c.iccid = r.iccid "
        "WHERE c.state <> 'spoiled' AND r.version = (SELECT max(version) FROM card_records m WHERE m.iccid = r.iccid) "
        "ORDER BY r.iccid",
        "HLR outbox: queue every card in service", now);
    if (!added) return added.error();
    auto logged = audit_.append(actor_, "hlr_sync", "hlr", "jobs=" + std::to_string(*added));
    if (!logged) return logged.error();
    return *added;
  });
}

}  // namespace cardperso::ads
