#pragma once
// Time in the store is whole seconds since the Unix epoch (UTC). The stores take a clock so that tests
// can pass time in instead of sleeping.
#include <chrono>
#include <functional>

namespace cardperso::ads {

using Seconds = std::chrono::sys_seconds;
using Clock = std::function<Seconds()>;

inline Seconds system_now() { return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now()); }

inline std::int64_t to_unix(Seconds t) { return t.time_since_epoch().count(); }
inline Seconds from_unix(std::int64_t s) { return Seconds{std::chrono::seconds{s}}; }

}  // namespace cardperso::ads
