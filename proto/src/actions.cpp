#include "cardperso/proto/actions.hpp"

#include "cardperso/common/crypto.hpp"

namespace cardperso::proto {

RandomSource default_random_source() {
  return [](std::span<std::uint8_t> out) { crypto::random_bytes(out); };
}

}  // namespace cardperso::proto
