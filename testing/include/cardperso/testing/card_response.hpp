#pragma once
// A card's raw answer (data || SW1 SW2) taken apart, for tests that talk to a virtual card directly.
// A short answer has no status word: 0 and no data, so a test sees it fail instead of reading past it.
#include <cstdint>

#include "cardperso/common/bytes.hpp"

namespace cardperso::testing {

inline std::uint16_t sw_of(const Bytes& r) { return r.size() < 2 ? 0 : get_u16(r, r.size() - 2); }
inline Bytes data_of(const Bytes& r) { return r.size() < 2 ? Bytes{} : Bytes(r.begin(), r.end() - 2); }

}  // namespace cardperso::testing
