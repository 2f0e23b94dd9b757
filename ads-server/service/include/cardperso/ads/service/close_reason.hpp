#pragma once
// How a finished session is named in the log and the sessions table (the process contract):
//   "session <id> refused: <reason>"  /  "session <id> ended: completed"  /  "... ended: aborted: <reason>"
#include <string>

#include "cardperso/ads/store/session_store.hpp"
#include "cardperso/proto/actions.hpp"

namespace cardperso::ads {

// The short reason for a Close: "unknown retailer", "retailer locked", "timeout", ... and for codes
// without a short name the core's own description (which never holds a secret).
std::string short_reason(const proto::Close& close);

struct SessionEnd {
  SessionOutcome outcome = SessionOutcome::Completed;
  std::string text;  // "completed", "refused: unknown retailer", "aborted: timeout"
};

// established: the session had reached SessionEstablished before it closed.
SessionEnd classify_end(bool established, proto::ErrorCode code, const std::string& reason);

}  // namespace cardperso::ads
