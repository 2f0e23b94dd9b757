#pragma once
// The whole state of one virtual card, as kept in its image file (JSON). A card can be removed,
// inspected with any JSON tool, and inserted again, like a real one.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cardperso/common/bytes.hpp"
#include "cardperso/common/result.hpp"

namespace cardperso::cardsim {

enum class FileType : std::uint8_t { Mf, Df, Ef };
enum class EfStructure : std::uint8_t { Transparent = 0x00, LinearFixed = 0x01, Cyclic = 0x03 };

struct AccessConditions {   // GSM 11.11 nibbles (card::Access, cardperso/card/file_ids.hpp), as in the SELECT response bytes 8..10
  std::uint8_t read = 0x0;
  std::uint8_t update = 0xA;
  std::uint8_t increase = 0xF;
  std::uint8_t rehabilitate = 0xA;
  std::uint8_t invalidate = 0xA;
};

struct CardFile {
  std::string path;            // "3F00", "3F00/7F20", "3F00/7F20/6F07": FIDs in upper-case hex, '/'-separated
  FileType type = FileType::Ef;
  EfStructure structure = EfStructure::Transparent;
  std::size_t record_length = 0;  // linear fixed / cyclic only
  AccessConditions access;
  bool invalidated = false;
  Bytes data;                  // transparent: the body; records: record_count * record_length bytes
};

struct CardImage {
  std::string kind;            // "sim" or "retailer"; informative
  Bytes atr;
  std::vector<CardFile> files; // parents before children
  std::map<std::uint8_t, int> tries_left;  // key reference (0x01 CHV1, 0x81 UNBLOCK1, 0x02, 0x82, 0x0A ADM1) -> tries left
  std::map<std::uint8_t, bool> chv_disabled;  // CHV1 may be disabled (DISABLE CHV); absent = enabled
  std::uint64_t generation = 0;  // increments on every change; lets tools see that a card was written
};

Result<CardImage> load_image(const std::string& path);
// Atomic (write to a temporary file, fsync, rename) and mode 0600: the image holds Ki and codes.
Result<void> save_image(const std::string& path, const CardImage& image);
std::string image_to_json(const CardImage& image);
Result<CardImage> image_from_json(const std::string& json);

}  // namespace cardperso::cardsim
