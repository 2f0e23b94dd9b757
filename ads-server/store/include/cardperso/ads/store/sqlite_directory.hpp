#pragma once
// RetailerDirectory and SessionJournal over the ADS SQLite store (ads-server/store).
//
// The calls are synchronous: a DTD connection that looks a retailer up blocks its strand (and, with
// one io thread, the whole server) for the duration of one SQLite query. That is acceptable at shop
// counter rates; the load-test issue can move these calls to a worker behind the same interfaces.
// A mutex serialises them, so the io_context may also run on several threads.
#include <mutex>
#include <string>

#include "cardperso/ads/store/retailer_directory.hpp"
#include "cardperso/ads/store/audit_log.hpp"
#include "cardperso/ads/store/master_key.hpp"
#include "cardperso/ads/store/sqlite_db.hpp"
#include "cardperso/ads/store/terminal_store.hpp"

namespace cardperso::ads {

class SqliteDirectory final : public RetailerDirectory, public SessionJournal {
 public:
  // db and key must outlive this object. actor is what the audit log names ("ads-server").
  SqliteDirectory(Database& db, const MasterKey& key, LockoutPolicy policy, std::string actor = "ads-server",
                  Clock clock = system_now);

  // A retailer row whose sealed keys or code do not open (edited in the file, or sealed under another
  // key) fails the lookup and leaves a "retailer_row_unreadable" audit entry naming the serial.
  Result<proto::RetailerLookup> lookup(std::string_view serial, std::uint8_t key_version,
                                       const proto::DeviceKey& terminal) override;
  Result<AuthFailureOutcome> record_auth_failure(std::string_view serial) override;
  Result<void> record_auth_success(std::string_view serial) override;
  Result<std::int64_t> open_session(std::string_view serial, std::string_view peer) override;
  Result<void> close_session(std::int64_t id, SessionOutcome outcome, std::string_view reason) override;
  // The journal's retention: sessions that ended more than `retention` ago are deleted (with an
  // audit entry saying how many). Returns how many.
  Result<int> prune_sessions(std::chrono::seconds retention);

 private:
  std::mutex mutex_;
  Database& db_;
  std::string actor_;
  Clock clock_;
  AuditLog audit_;
  RetailerStore retailers_;
  TerminalStore terminals_;
  SessionStore sessions_;
};

}  // namespace cardperso::ads
