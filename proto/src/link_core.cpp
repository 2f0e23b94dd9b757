#include "cardperso/proto/link_core.hpp"

namespace cardperso::proto {

std::chrono::milliseconds wait_until(TimePoint deadline, TimePoint now) {
  const auto wait = std::chrono::ceil<std::chrono::milliseconds>(deadline - now);
  return std::max(wait, std::chrono::milliseconds(1));
}

}  // namespace cardperso::proto
