#pragma once
// GSM 11.11 §9.4 status words (UICC codes only for CREATE FILE, which GSM 11.11 does not have).
#include <cstdint>

#include "cardperso/common/bytes.hpp"

namespace cardperso::cardsim::sw {

inline constexpr std::uint16_t kOk = 0x9000;
inline constexpr std::uint16_t kNoEfSelected = 0x9400;
inline constexpr std::uint16_t kOutOfRange = 0x9402;
inline constexpr std::uint16_t kNotFound = 0x9404;
inline constexpr std::uint16_t kInconsistent = 0x9408;
inline constexpr std::uint16_t kNoChvInitialised = 0x9802;
inline constexpr std::uint16_t kAccessDenied = 0x9804;  // also: wrong code, tries left
inline constexpr std::uint16_t kChvContradiction = 0x9808;
inline constexpr std::uint16_t kInvalidated = 0x9810;
inline constexpr std::uint16_t kBlocked = 0x9840;
inline constexpr std::uint16_t kWrongP3 = 0x6700;
inline constexpr std::uint16_t kWrongP1P2 = 0x6B00;
inline constexpr std::uint16_t kUnknownIns = 0x6D00;
inline constexpr std::uint16_t kWrongClass = 0x6E00;
inline constexpr std::uint16_t kTechnical = 0x6F00;
// CREATE FILE (TS 102 221 §10.2.1)
inline constexpr std::uint16_t kBadData = 0x6A80;
inline constexpr std::uint16_t kNoMemory = 0x6A84;
inline constexpr std::uint16_t kFileExists = 0x6A89;

inline constexpr std::uint16_t response_ready(std::size_t length) {
  return static_cast<std::uint16_t>(0x9F00 | (length & 0xFF));
}
// 67xx: xx tells the length the card would have accepted.
inline constexpr std::uint16_t wrong_length(std::size_t expected) {
  return static_cast<std::uint16_t>(0x6700 | (expected & 0xFF));
}

inline Bytes status(std::uint16_t word) {
  return {static_cast<std::uint8_t>(word >> 8), static_cast<std::uint8_t>(word)};
}
inline Bytes with_status(Bytes data, std::uint16_t word) {
  data.push_back(static_cast<std::uint8_t>(word >> 8));
  data.push_back(static_cast<std::uint8_t>(word));
  return data;
}

}  // namespace cardperso::cardsim::sw
