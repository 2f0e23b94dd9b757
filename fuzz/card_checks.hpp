#pragma once
// Checks shared by the card fuzz targets: a response is data || SW with a GSM 11.11 status word,
// and a card image always serialises to JSON that loads back to the same image.
#include <cstdint>
#include <string>

#include "cardperso/cardsim/card_image.hpp"
#include "cardperso/common/bytes.hpp"
#include "fuzz_check.hpp"

namespace fuzz_cards {

using namespace cardperso;
using namespace cardperso::cardsim;

// The status words the engine may answer (cardperso/card/status_words.hpp).
inline bool known_status(std::uint8_t sw1, std::uint8_t sw2) {
  switch (sw1) {
    case 0x90: return sw2 == 0x00;
    case 0x9F: return sw2 != 0x00;  // 9Fxx: xx bytes of response ready
    case 0x94: return sw2 == 0x00 || sw2 == 0x02 || sw2 == 0x04 || sw2 == 0x08;
    case 0x98: return sw2 == 0x02 || sw2 == 0x04 || sw2 == 0x08 || sw2 == 0x10 || sw2 == 0x40;
    case 0x67: return true;  // 67xx: the length the card wanted
    case 0x6B: case 0x6D: case 0x6E: case 0x6F: return sw2 == 0x00;
    case 0x6A: return sw2 == 0x80 || sw2 == 0x84 || sw2 == 0x89;
    default: return false;
  }
}

inline void check_response(const Bytes& r) {
  FUZZ_CHECK(r.size() >= 2, "a response must end in a status word");
  FUZZ_CHECK(r.size() <= 256 + 2, "a T=0 response carries at most 256 data bytes");
  const std::uint8_t sw1 = r[r.size() - 2], sw2 = r[r.size() - 1];
  FUZZ_CHECK(known_status(sw1, sw2), "unknown status word");
  if (r.size() > 2) FUZZ_CHECK(sw1 == 0x90 && sw2 == 0x00, "response data with a status other than 9000");
}

inline bool same_image(const CardImage& a, const CardImage& b) {
  if (a.kind != b.kind || a.atr != b.atr || a.tries_left != b.tries_left || a.chv_disabled != b.chv_disabled ||
      a.generation != b.generation || a.files.size() != b.files.size())
    return false;
  for (std::size_t i = 0; i < a.files.size(); ++i) {
    const CardFile &x = a.files[i], &y = b.files[i];
    if (x.path != y.path || x.type != y.type || x.invalidated != y.invalidated) return false;
    if (x.type != FileType::Ef) continue;  // structure and access mean nothing for a directory
    if (x.structure != y.structure || x.data != y.data || x.access.read != y.access.read ||
        x.access.update != y.access.update || x.access.increase != y.access.increase ||
        x.access.rehabilitate != y.access.rehabilitate || x.access.invalidate != y.access.invalidate)
      return false;
    if (x.structure != EfStructure::Transparent && x.record_length != y.record_length) return false;
  }
  return true;
}

// image -> JSON -> image gives the same image and the same JSON: a card can always be saved and re-inserted.
inline void check_reloads(const CardImage& image) {
  const std::string json = image_to_json(image);
  auto back = image_from_json(json);
  if (!back) std::fprintf(stderr, "reload refused: %s\n", back.error().message.c_str());
  FUZZ_CHECK(back.ok(), "a card image does not load back from its own JSON");
  FUZZ_CHECK(same_image(image, *back), "a card image changed through JSON");
  FUZZ_CHECK(image_to_json(*back) == json, "image JSON is not a fixed point");
}

}  // namespace fuzz_cards
