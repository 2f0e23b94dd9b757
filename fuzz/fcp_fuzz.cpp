// The CREATE FILE FCP parser, directly and through the card (A0 E0 00 00 Lc FCP on a blank SIM
// opened with ADM1, MF selected). Invariants: an accepted FCP describes a file within the card's
// limits (reserved FIDs refused, sizes bounded, records consistent, access bytes round-trip); a
// refusal is 6A80 or 6A84; the card answers exactly what the parser decided (9000, or 6A89 when the
// FID is taken) and the new file appears with the parsed shape, all FF; the image still reloads.
#include <algorithm>
#include <cstdint>
#include <variant>

#include "card_checks.hpp"
#include "card_fixture.hpp"
#include "cardperso/cardsim/sim_card.hpp"
#include "fcp_parser.hpp"
#include "file_tree.hpp"

using namespace cardperso;
using namespace cardperso::cardsim;
using namespace fuzz_cards;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const ByteView fcp(data, size);
  const auto parsed = parse_fcp(fcp);
  const FcpFile* file = std::get_if<FcpFile>(&parsed);
  if (file) {
    FUZZ_CHECK(file->fid != 0x3F00 && file->fid != 0x3FFF && file->fid != 0xFFFF, "a reserved FID was accepted");
    FUZZ_CHECK(file->size <= tree::kMaxEfSize, "an EF over the size limit was accepted");
    if (file->type == FileType::Df) {
      FUZZ_CHECK(file->size == 0, "a DF with a body size");
    } else {
      FUZZ_CHECK(file->type == FileType::Ef && file->size > 0, "an empty EF was accepted");
      if (file->structure != EfStructure::Transparent)
        FUZZ_CHECK(file->record_length >= 1 && file->record_length <= tree::kMaxRecordLength &&
                       file->record_count >= 1 && file->record_count <= tree::kMaxRecords &&
                       file->size == file->record_length * file->record_count,
                   "inconsistent record geometry accepted");
      const auto bytes = access_to_bytes(file->access);
      const AccessConditions back = access_from_bytes(bytes);
      FUZZ_CHECK(back.read == file->access.read && back.update == file->access.update &&
                     back.increase == file->access.increase && back.rehabilitate == file->access.rehabilitate &&
                     back.invalidate == file->access.invalidate,
                 "access conditions do not survive their 3 bytes");
    }
  } else {
    const std::uint16_t sw = std::get<std::uint16_t>(parsed);
    FUZZ_CHECK(sw == 0x6A80 || sw == 0x6A84, "CREATE FILE refused with an unexpected status word");
  }

  // Through the card: T=0 carries at most 255 bytes of data.
  if (size == 0 || size > 255) return 0;
  SimCard card(blank_sim());
  card.power_on();
  FUZZ_CHECK(card.transmit(verify_adm(master_code())) == hex("9000"), "the blank SIM refused its master code");
  Bytes apdu = hex("A0E00000");
  apdu.push_back(static_cast<std::uint8_t>(size));
  apdu.insert(apdu.end(), data, data + size);
  const std::size_t files_before = card.image().files.size();
  const Bytes r = card.transmit(apdu);
  check_response(r);
  FUZZ_CHECK(r.size() == 2, "CREATE FILE returns no data");
  const std::uint16_t sw = get_u16(r, 0);
  if (!file) {
    FUZZ_CHECK(sw == std::get<std::uint16_t>(parsed), "the card and the parser disagree on a refusal");
    FUZZ_CHECK(card.image().files.size() == files_before && !card.state_changed(), "a refused CREATE changed the card");
    return 0;
  }
  const std::string path = tree::child_of("3F00", file->fid);
  const bool taken = file->fid == 0x2FE2 || file->fid == 0x000A;  // the blank SIM's EF_ICCID and ADM1 code file
  if (taken) {
    FUZZ_CHECK(sw == 0x6A89, "CREATE FILE over an existing FID was not refused with 6A89");
    return 0;
  }
  FUZZ_CHECK(sw == 0x9000, "the card refused an FCP the parser accepted");
  FUZZ_CHECK(card.state_changed() && card.image().files.size() == files_before + 1, "CREATE FILE added no file");
  const CardFile* created = tree::find(card.image().files, path);
  FUZZ_CHECK(created && created->type == file->type, "the created file is missing or of another type");
  if (created->type == FileType::Ef) {
    FUZZ_CHECK(created->data.size() == file->size &&
                   std::all_of(created->data.begin(), created->data.end(), [](std::uint8_t b) { return b == 0xFF; }),
               "a new EF is not its size in FF bytes");
    FUZZ_CHECK(created->structure == file->structure, "the created EF has another structure");
  }
  check_reloads(card.image());
  return 0;
}
