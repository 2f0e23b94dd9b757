#pragma once
// TS 102 222 CREATE FILE: the FCP template (tag 62) as a new file's description. GSM access
// conditions come in tag 86 (docs/cards.md): 3 bytes laid out as GSM 11.11 SELECT response bytes 8..10.
#include <cstdint>
#include <array>
#include <variant>

#include "cardperso/cardsim/card_image.hpp"
#include "cardperso/common/bytes.hpp"

namespace cardperso::cardsim {

struct FcpFile {
  std::uint16_t fid = 0;
  FileType type = FileType::Ef;
  EfStructure structure = EfStructure::Transparent;
  std::size_t record_length = 0;
  std::size_t record_count = 0;
  std::size_t size = 0;  // body size in bytes (records: length * count)
  AccessConditions access;
};

// The new file, or the status word refusing it (6A80 malformed, 6A84 over the card's limits).
std::variant<FcpFile, std::uint16_t> parse_fcp(ByteView fcp);

// The 3 access bytes (SELECT response bytes 8..10) <-> the nibbles.
AccessConditions access_from_bytes(ByteView three);
std::array<std::uint8_t, 3> access_to_bytes(const AccessConditions& ac);

}  // namespace cardperso::cardsim
