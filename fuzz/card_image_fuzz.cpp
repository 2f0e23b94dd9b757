// cardsim::image_from_json on arbitrary text. Invariants: an accepted image keeps every documented
// bound (first file the MF, at most 200 files, EF bodies 1..4096 bytes of whole records, card memory,
// ATR 2..33 bytes, counters in range), saves to JSON that loads back to the same image (a fixed point),
// and a SimCard built from it answers a few ordinary APDUs with proper responses.
#include <cstdint>
#include <string>

#include "access_control.hpp"
#include "card_checks.hpp"
#include "cardperso/cardsim/sim_card.hpp"
#include "file_tree.hpp"

using namespace cardperso;
using namespace cardperso::cardsim;
using namespace fuzz_cards;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto image = image_from_json(text);
  if (!image) {
    FUZZ_CHECK(!image.error().message.empty(), "a refusal must say why");
    return 0;
  }
  const CardImage& img = *image;
  FUZZ_CHECK(img.atr.size() >= 2 && img.atr.size() <= 33, "ATR length out of bounds");
  FUZZ_CHECK(!img.files.empty() && img.files.size() <= tree::kMaxFiles, "file count out of bounds");
  FUZZ_CHECK(img.files[0].path == "3F00" && img.files[0].type == FileType::Mf, "the first file is not the MF");
  FUZZ_CHECK(tree::used_memory(img.files) <= tree::kCardMemory, "more data than the card holds");
  for (const auto& f : img.files) {
    FUZZ_CHECK(tree::depth_of(f.path) >= 1 && tree::depth_of(f.path) <= tree::kMaxDepth, "path depth out of bounds");
    if (f.type != FileType::Ef) continue;
    FUZZ_CHECK(!f.data.empty() && f.data.size() <= tree::kMaxEfSize, "EF body size out of bounds");
    if (f.structure != EfStructure::Transparent)
      FUZZ_CHECK(f.record_length >= 1 && f.record_length <= tree::kMaxRecordLength &&
                     f.data.size() % f.record_length == 0 && f.data.size() / f.record_length <= tree::kMaxRecords,
                 "record geometry out of bounds");
  }
  for (const auto& [key, n] : img.tries_left)
    FUZZ_CHECK(n >= 0 && n <= max_tries(key), "a retry counter out of range was accepted");
  check_reloads(img);

  // A card made from any accepted image behaves like a card.
  SimCard card(img);
  card.power_on();
  for (const char* apdu : {"A0A40000023F00", "A0C0000016", "A0F2000016", "A0A40000022FE2", "A0B000000A",
                           "A0B2010400", "A0A40000027F20", "A0A40000026F07", "A0B0000009", "A088000010"}) {
    Bytes command = hex(apdu);
    if (command.size() == 5 && command[1] == 0x88) command.resize(5 + 16, 0x00);  // RUN GSM ALGORITHM with RAND
    check_response(card.transmit(command));
  }
  check_reloads(card.image());
  return 0;
}
