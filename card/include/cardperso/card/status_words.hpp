#pragma once
// Status words (ISO 7816-4 §5.1.3; GSM 11.11 §9.4), the one list every module uses. CREATE FILE is
// not in GSM 11.11: its words are the UICC ones (TS 102 222 §6.3).
#include <cstddef>
#include <cstdint>

#include "cardperso/common/bytes.hpp"

namespace cardperso::card::sw {

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
inline constexpr std::uint16_t kAuthMismatch = 0x9862;  // TS 31.102 §7.3: authentication error (incorrect MAC)
inline constexpr std::uint16_t kWrongP3 = 0x6700;
inline constexpr std::uint16_t kWrongP1P2 = 0x6B00;
inline constexpr std::uint16_t kUnknownIns = 0x6D00;
inline constexpr std::uint16_t kWrongClass = 0x6E00;
inline constexpr std::uint16_t kTechnical = 0x6F00;
// CREATE FILE (TS 102 222 §6.3)
inline constexpr std::uint16_t kBadData = 0x6A80;
inline constexpr std::uint16_t kNoMemory = 0x6A84;
inline constexpr std::uint16_t kFileExists = 0x6A89;

// SW1 values that carry a length in SW2 (docs/cards.md §6.3).
inline constexpr std::uint8_t kSw1ResponseReady = 0x9F;  // GSM 11.11 §9.4.1: xx bytes for GET RESPONSE
inline constexpr std::uint8_t kSw1MoreData = 0x61;       // ISO 7816-4 §5.1.3 (UICC): same meaning
inline constexpr std::uint8_t kSw1WrongLe = 0x6C;        // ISO 7816-4 §5.1.3: resend with Le = xx

inline constexpr std::uint8_t sw1(std::uint16_t word) { return static_cast<std::uint8_t>(word >> 8); }
inline constexpr std::uint8_t sw2(std::uint16_t word) { return static_cast<std::uint8_t>(word); }
// 9Fxx or 61xx: the command worked and xx bytes wait for GET RESPONSE.
inline constexpr bool response_pending(std::uint16_t word) {
  return sw1(word) == kSw1ResponseReady || sw1(word) == kSw1MoreData;
}

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

}  // namespace cardperso::card::sw
