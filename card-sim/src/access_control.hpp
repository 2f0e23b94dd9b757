#pragma once
// Codes (CHV1/2, UNBLOCK1/2, ADM1), their retry counters and the GSM 11.11 access conditions.
// A code's value lives only in its proprietary EF in the MF (cardperso/card/file_ids.hpp).
#include <cstdint>
#include <optional>
#include <string_view>

#include "cardperso/cardsim/card_image.hpp"
#include "cardperso/common/bytes.hpp"

namespace cardperso::cardsim {

// Key references as used in CardImage::tries_left.
inline constexpr std::uint8_t kKeyChv1 = 0x01;
inline constexpr std::uint8_t kKeyUnblock1 = 0x81;
inline constexpr std::uint8_t kKeyChv2 = 0x02;
inline constexpr std::uint8_t kKeyUnblock2 = 0x82;
inline constexpr std::uint8_t kKeyAdm1 = 0x0A;

// What was verified since power-on.
struct SecurityState {
  bool chv1 = false;
  bool chv2 = false;
  bool adm1 = false;
  void clear() { *this = SecurityState{}; }
  void set(std::uint8_t key, bool verified);
};

bool access_granted(std::uint8_t nibble, const SecurityState& s, bool chv1_disabled);

std::optional<std::uint16_t> code_file_fid(std::uint8_t key);
int max_tries(std::uint8_t key);
// "3F00/0000" -> kKeyChv1, ...; nullopt for any other file.
std::optional<std::uint8_t> code_key_of_path(std::string_view path);
// Code files, the card key, the Ki/OPc files and the retailer key file: read access is NEV whatever
// was verified.
bool is_secret_file(std::string_view path);
// The blank SIM's card key, MF/000C (docs/cards.md §2.3): besides never being read, it is never
// written either (update NEV whatever the access bytes say, ADM included), so that no one who learns
// a card's codes can replace the key the issuer checks.
bool is_card_key_file(std::string_view path);

bool code_initialised(const CardImage& image, std::uint8_t key);
int tries_left(const CardImage& image, std::uint8_t key);
bool chv1_disabled(const CardImage& image);

// Presents a code: 9000 (tries reset, key verified), 9804 (one try fewer), 9840 (blocked), 9802
// (not initialised). Sets `changed` when a counter moved.
std::uint16_t present_code(CardImage& image, SecurityState& s, std::uint8_t key, ByteView code, bool& changed);
// Writes a code file's value and resets its counter (CHANGE/UNBLOCK CHV).
void set_code(CardImage& image, std::uint8_t key, ByteView code);
void reset_tries(CardImage& image, std::uint8_t key);

}  // namespace cardperso::cardsim
