#include "cardperso/ads/store/sqlite_directory.hpp"

namespace cardperso::ads {

SqliteDirectory::SqliteDirectory(Database& db, const MasterKey& key, LockoutPolicy policy, std::string actor,
                                 Clock clock)
    : db_(db),
      actor_(actor),
      clock_(clock),
      audit_(db, key, clock),
      retailers_(db, key, audit_, actor, policy, clock),
      terminals_(db, audit_, std::move(actor), clock),
      sessions_(db, clock) {}

Result<proto::RetailerLookup> SqliteDirectory::lookup(std::string_view serial, std::uint8_t key_version,
                                                      const proto::DeviceKey& terminal) {
  std::lock_guard lock(mutex_);
  auto found = retailers_.find(serial);
  if (!found) {
    // The issuer must see an altered row in the audit log, not only in a server log that rotates.
    auto logged = db_.with_transaction([&]() -> Result<void> {
      auto entry = audit_.append(actor_, "retailer_row_unreadable", serial, found.error().message);
      if (!entry) return entry.error();
      return {};
    });
    if (!logged) return fail(found.error().message + " (and the audit entry failed: " + logged.error().message + ")");
    return found.error();
  }
  proto::RetailerLookup out;
  out.retailer_known = found->has_value();
  auto standing = terminals_.standing(terminal, serial);
  if (!standing) return standing.error();
  switch (*standing) {
    case TerminalStanding::Unknown: out.terminal = proto::TerminalEnrolment::NotEnrolled; return out;
    case TerminalStanding::Revoked: out.terminal = proto::TerminalEnrolment::Revoked; return out;
    case TerminalStanding::OtherRetailer: out.terminal = proto::TerminalEnrolment::OtherRetailer; return out;
    case TerminalStanding::Enrolled: out.terminal = proto::TerminalEnrolment::Active; break;
  }
  if (!found->has_value()) return out;  // NotFound
  RetailerRecord& record = **found;
  if (record.status == RetailerStatus::Locked) {
    auto expired = retailers_.expire_lock(serial, clock_());
    if (!expired) return expired.error();
    if (*expired) record.status = RetailerStatus::Active;
  }
  switch (record.status) {
    case RetailerStatus::Revoked: out.status = proto::RetailerStatus::Revoked; return out;
    case RetailerStatus::Locked: out.status = proto::RetailerStatus::Locked; return out;
    case RetailerStatus::Active: break;
  }
  if (record.keys.key_version != key_version) return out;  // a key set the issuer does not hold
  out.status = proto::RetailerStatus::Active;
  out.keys.k_ra = std::move(record.keys.k_ra);
  out.keys.k_ia = std::move(record.keys.k_ia);
  out.keys.k_s = std::move(record.keys.k_s);
  out.keys.k_d = std::move(record.keys.k_d);
  return out;
}

Result<AuthFailureOutcome> SqliteDirectory::record_auth_failure(std::string_view serial) {
  std::lock_guard lock(mutex_);
  return retailers_.record_auth_failure(serial, clock_());
}

Result<void> SqliteDirectory::record_auth_success(std::string_view serial) {
  std::lock_guard lock(mutex_);
  return retailers_.record_auth_success(serial);
}

Result<std::int64_t> SqliteDirectory::open_session(std::string_view serial, std::string_view peer) {
  std::lock_guard lock(mutex_);
  return sessions_.open(serial, peer);
}

Result<void> SqliteDirectory::close_session(std::int64_t id, SessionOutcome outcome, std::string_view reason) {
  std::lock_guard lock(mutex_);
  return sessions_.close(id, outcome, reason);
}

Result<int> SqliteDirectory::prune_sessions(std::chrono::seconds retention) {
  std::lock_guard lock(mutex_);
  const Seconds before = clock_() - retention;
  return db_.with_transaction([&]() -> Result<int> {
    auto pruned = sessions_.prune(before);
    if (!pruned) return pruned.error();
    if (*pruned > 0) {
      auto logged = audit_.append(actor_, "sessions_pruned", "sessions",
                                  std::to_string(*pruned) + " sessions ended before " + std::to_string(to_unix(before)));
      if (!logged) return logged.error();
    }
    return *pruned;
  });
}

}  // namespace cardperso::ads
