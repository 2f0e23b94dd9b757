#pragma once
// One row per session of one of the issuer's retailer cards: who, from where, when, and how it ended.
// Rows are opened once the lookup knows the serial (a made-up serial gets a log line, not a row) and
// closed when the session ends; a row still open at startup belonged to a server that crashed, and
// close_dangling() marks it (on PostgreSQL only the rows of daemons that are gone: Database::instance).
// Rows older than the retention are pruned.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cardperso/ads/store/clock.hpp"
#include "cardperso/ads/store/sqlite_db.hpp"
#include "cardperso/common/result.hpp"

namespace cardperso::ads {

enum class SessionOutcome { Completed, Failed, Aborted };
std::string_view to_string(SessionOutcome outcome);

struct SessionRecord {
  std::int64_t id = 0;
  std::string retailer_serial;
  std::string peer;
  Seconds started_at;
  std::optional<Seconds> ended_at;
  std::optional<std::string> outcome;  // empty while the session is open
  std::string reason;
};

inline constexpr std::size_t kMaxSessionSerial = 32;   // longer than any valid serial: unknown ones are kept
inline constexpr std::size_t kMaxSessionPeer = 128;
inline constexpr std::size_t kMaxSessionReason = 512;  // longer reasons are cut

class SessionStore {
 public:
  explicit SessionStore(Database& db, Clock clock = system_now);

  Result<std::int64_t> open(std::string_view retailer_serial, std::string_view peer);
  // Refuses to close a session twice or one that does not exist.
  Result<void> close(std::int64_t id, SessionOutcome outcome, std::string_view reason);
  // Most recent first.
  Result<std::vector<SessionRecord>> recent(int limit);
  // At startup: every session still open is marked "aborted", reason "server restarted". Returns how many.
  Result<int> close_dangling();
  // Deletes the sessions that ended before `before` (one statement, no transaction of its own).
  // Returns how many.
  Result<int> prune(Seconds before);

 private:
  Database& db_;
  Clock clock_;
};

}  // namespace cardperso::ads
