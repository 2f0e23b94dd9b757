#include "cardperso/ads/store/session_store.hpp"

#include "enum_names.hpp"

namespace cardperso::ads {

namespace {
constexpr detail::EnumName<SessionOutcome> kOutcomeNames[] = {
    {SessionOutcome::Completed, "completed"}, {SessionOutcome::Failed, "failed"}, {SessionOutcome::Aborted, "aborted"}};
}  // namespace

std::string_view to_string(SessionOutcome outcome) {
  return detail::name_of(kOutcomeNames, outcome).value_or("failed");
}

SessionStore::SessionStore(Database& db, Clock clock) : db_(db), clock_(std::move(clock)) {}

Result<std::int64_t> SessionStore::open(std::string_view retailer_serial, std::string_view peer) {
  if (retailer_serial.size() > kMaxSessionSerial) return fail("session serial longer than 32 characters refused");
  if (peer.size() > kMaxSessionPeer) return fail("session peer address longer than 128 characters refused");
  return db_.with_transaction([&]() -> Result<std::int64_t> {
    return db_.insert_id(
        "INSERT INTO sessions (retailer_serial, peer, started_at, daemon) VALUES (?1, ?2, ?3, ?4) RETURNING id",
        "open session: insert", retailer_serial, peer, to_unix(clock_()), db_.instance());
  });
}

Result<void> SessionStore::close(std::int64_t id, SessionOutcome outcome, std::string_view reason) {
  reason = reason.substr(0, kMaxSessionReason);
  return db_.with_transaction([&]() -> Result<void> {
    auto updated = db_.update(
        "UPDATE sessions SET ended_at = ?2, outcome = ?3, reason = ?4 WHERE id = ?1 AND ended_at IS NULL",
        "close session: update", id, to_unix(clock_()), to_string(outcome), reason);
    if (!updated) return updated.error();
    if (*updated != 1) return fail("session " + std::to_string(id) + " is not open; it was closed already or never existed");
    return {};
  });
}

Result<std::vector<SessionRecord>> SessionStore::recent(int limit) {
  return db_.read_rows(
      "SELECT id, retailer_serial, peer, started_at, ended_at, outcome, reason FROM sessions ORDER BY id DESC LIMIT ?1",
      "list recent sessions",
      [](const Statement& row) {
        SessionRecord s;
        s.id = row.column_int(0);
        s.retailer_serial = row.column_text(1);
        s.peer = row.column_text(2);
        s.started_at = from_unix(row.column_int(3));
        if (auto ended = row.column_optional_int(4)) s.ended_at = from_unix(*ended);
        if (!row.column_is_null(5)) s.outcome = row.column_text(5);
        s.reason = row.column_text(6);
        return s;
      },
      std::int64_t{limit});
}

Result<int> SessionStore::prune(Seconds before) {
  // One statement: atomic on its own, and it joins a caller's transaction (the audit entry's).
  return db_.update("DELETE FROM sessions WHERE ended_at IS NOT NULL AND ended_at < ?1", "prune old sessions",
                    to_unix(before));
}

Result<int> SessionStore::close_dangling() {
  return db_.with_transaction([&]() -> Result<int> {
    return db_.update(
        "UPDATE sessions SET ended_at = ?1, outcome = 'aborted', reason = 'server restarted' WHERE ended_at IS NULL AND " +
            db_.owner_gone_sql("daemon"),
        "close sessions left open by a crash", to_unix(clock_()));
  });
}

}  // namespace cardperso::ads
