// cardsim::SimCard driven by a sequence of APDUs. Byte 0 bit 0 picks the card: 0 = a blank SIM
// already opened with ADM1 (everything reachable: CREATE FILE, UPDATE, codes), 1 = a retailer card,
// nothing verified. Then: [length][APDU] repeated; length FF means power cycle instead.
// Invariants after every APDU: data || SW with a known status word; data only with 9000; when the
// card says the state did not change the image is identical, and when it did the generation moved by
// one; at the end the image still saves and loads back; retry counters stay in range; on the retailer card,
// without ADM1 no code value ever leaves the card, and without CHV1 neither does K_RA.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>

#include "access_control.hpp"
#include "card_checks.hpp"
#include "card_fixture.hpp"
#include "cardperso/card/file_ids.hpp"
#include "cardperso/cardsim/sim_card.hpp"
#include "file_tree.hpp"

using namespace cardperso;
using namespace cardperso::cardsim;
using namespace cardperso::card;
using namespace fuzz_cards;

namespace {

bool contains(const Bytes& hay, ByteView needle) {
  return !needle.empty() && std::search(hay.begin(), hay.end(), needle.begin(), needle.end()) != hay.end();
}

// A code file's value, unless it is uniform (all FF = not initialised), which may legitimately
// appear in any response.
std::optional<Bytes> code_value(const CardImage& image, std::uint16_t fid) {
  const CardFile* f = tree::find(image.files, tree::child_of("3F00", fid));
  if (!f || f->data.empty() || std::all_of(f->data.begin(), f->data.end(), [&](std::uint8_t b) { return b == f->data[0]; }))
    return std::nullopt;
  return f->data;
}

void check_counters(const CardImage& image) {
  for (const auto& [key, n] : image.tries_left)
    FUZZ_CHECK(n >= 0 && n <= max_tries(key), "a retry counter left its range");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // CARDPERSO_FUZZ_TRACE=1 prints every APDU and response, to read a reproducer.
  static const bool trace = std::getenv("CARDPERSO_FUZZ_TRACE") != nullptr;
  if (size == 0) return 0;
  const bool retailer = (data[0] & 1) != 0;
  SimCard card(retailer ? retailer_card() : blank_sim());
  card.power_on();
  if (!retailer) {
    const Bytes r = card.transmit(verify_adm(master_code()));
    FUZZ_CHECK(r == hex("9000"), "the blank SIM refused its master code");
  }

  bool adm = !retailer, chv = false;
  std::size_t at = 1;
  for (int count = 0; at < size && count < 64; ++count) {
    const std::size_t n = data[at++];
    if (n == 0xFF) {
      card.power_on();
      adm = false;
      chv = false;
      continue;
    }
    const ByteView apdu(data + at, std::min(n, size - at));
    at += apdu.size();

    const CardImage before = card.image();
    const Bytes r = card.transmit(apdu);
    if (trace) std::fprintf(stderr, "%s -> %s\n", to_hex(apdu).c_str(), to_hex(r).c_str());
    check_response(r);
    const CardImage& after = card.image();
    if (card.state_changed()) {
      FUZZ_CHECK(after.generation == before.generation + 1, "a change did not move the generation by one");
    } else {
      FUZZ_CHECK(same_image(before, after), "the image changed but the card did not say so");
    }
    check_counters(after);

    const bool ok = r.size() == 2 && r[0] == 0x90 && r[1] == 0x00;
    if (ok && apdu.size() >= 4 && apdu[1] == 0x20 && apdu[3] == kRefAdm1) adm = true;
    if (ok && apdu.size() >= 2 && (apdu[1] == 0x20 || apdu[1] == 0x24 || apdu[1] == 0x26 || apdu[1] == 0x28 ||
                                   apdu[1] == 0x2C))
      chv = true;
    if (retailer && !adm) {
      for (std::uint16_t fid : {kFidChv1, kFidUnblock1, kFidAdm1}) {
        auto code = code_value(after, fid);
        FUZZ_CHECK(!code || !contains(r, *code), "a code value left the card");
      }
      if (!chv && !chv1_disabled(after))
        FUZZ_CHECK(!contains(r, retailer_k_ra()), "K_RA left the card without CHV1");
    }
  }
  // Saving and re-loading is checked once per input: through JSON it costs more than all the APDUs.
  check_reloads(card.image());
  return 0;
}
