#pragma once
// Session ids, unique across all connections of one server: a counter starting at a random non-zero
// value (so ids of consecutive server runs rarely overlap in logs), skipping 0 ("not chosen yet").
// Ids repeat only after 2^32 - 1 sessions, far beyond any session's lifetime.
#include <atomic>
#include <cstdint>

namespace cardperso::ads {

class SessionIds {
 public:
  SessionIds();  // random start
  explicit SessionIds(std::uint32_t first);
  std::uint32_t next();

 private:
  std::atomic<std::uint32_t> next_;
};

}  // namespace cardperso::ads
