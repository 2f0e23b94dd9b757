#include "cardperso/ads/service/session_ids.hpp"

#include <array>

#include "cardperso/common/crypto.hpp"

namespace cardperso::ads {

namespace {
std::uint32_t random_start() {
  std::array<std::uint8_t, 4> b{};
  crypto::random_bytes(b);
  const std::uint32_t v = (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) | b[3];
  return v == 0 ? 1 : v;
}
}  // namespace

SessionIds::SessionIds() : next_(random_start()) {}
SessionIds::SessionIds(std::uint32_t first) : next_(first) {}

std::uint32_t SessionIds::next() {
  for (;;) {
    const std::uint32_t id = next_.fetch_add(1, std::memory_order_relaxed);
    if (id != 0) return id;
  }
}

}  // namespace cardperso::ads
