// RUN GSM ALGORITHM: Milenage with the GSM conversion, keyed by DF_GSM/FF02 (Ki) and FF01 (OPc).
#include "cardperso/cardsim/card_layout.hpp"
#include "cardperso/common/milenage.hpp"
#include "file_tree.hpp"
#include "gsm_commands.hpp"
#include "status_words.hpp"

namespace cardperso::cardsim::cmd {

namespace {
inline constexpr std::size_t kRandSize = 16;
inline constexpr std::size_t kKeySize = 16;
const char* const kDfGsmPath = "3F00/7F20";
}  // namespace

Bytes run_gsm_algorithm(CardSession& s, const Apdu& a) {
  if (a.p1 != 0x00 || a.p2 != 0x00) return sw::status(sw::kWrongP1P2);
  if (a.p3 != kRandSize) return sw::status(sw::wrong_length(kRandSize));
  // The algorithm belongs to DF_GSM; anywhere else there is no key "selected" (9400, docs/cards.md).
  if (s.current_df != kDfGsmPath) return sw::status(sw::kNoEfSelected);
  if (!access_granted(0x1, s.security, chv1_disabled(s.image))) return sw::status(sw::kAccessDenied);
  const CardFile* ki = tree::find(s.image.files, tree::child_of(kDfGsmPath, kFidKi));
  const CardFile* opc = tree::find(s.image.files, tree::child_of(kDfGsmPath, kFidOpc));
  if (!ki || !opc || ki->type != FileType::Ef || opc->type != FileType::Ef || ki->data.size() != kKeySize ||
      opc->data.size() != kKeySize)
    return sw::status(sw::kInconsistent);
  const auto triplet = milenage::gsm(ki->data, opc->data, a.data);
  Bytes out(triplet.sres.begin(), triplet.sres.end());
  out.insert(out.end(), triplet.kc.begin(), triplet.kc.end());
  const std::size_t n = out.size();
  s.pending = std::move(out);
  return sw::status(sw::response_ready(n));
}

}  // namespace cardperso::cardsim::cmd
