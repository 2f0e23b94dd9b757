// RUN GSM ALGORITHM: Milenage with the GSM conversion, keyed by DF_GSM/FF02 (Ki) and FF01 (OPc).
#include "cardperso/card/file_ids.hpp"
#include "cardperso/common/milenage.hpp"
#include "file_tree.hpp"
#include "gsm_commands.hpp"
#include "cardperso/card/status_words.hpp"

namespace cardperso::cardsim::cmd {

namespace {
inline constexpr std::size_t kRandSize = 16;
inline constexpr std::size_t kKeySize = 16;
const char* const kDfGsmPath = "3F00/7F20";
}  // namespace

Bytes run_gsm_algorithm(CardSession& s, const Apdu& a) {
  if (a.p1 != 0x00 || a.p2 != 0x00) return card::sw::status(card::sw::kWrongP1P2);
  if (a.p3 != kRandSize) return card::sw::status(card::sw::wrong_length(kRandSize));
  // The algorithm belongs to DF_GSM; anywhere else there is no key "selected" (9400, docs/cards.md).
  if (s.current_df != kDfGsmPath) return card::sw::status(card::sw::kNoEfSelected);
  if (!access_granted(0x1, s.security, chv1_disabled(s.image))) return card::sw::status(card::sw::kAccessDenied);
  const CardFile* ki = tree::find(s.image.files, tree::child_of(kDfGsmPath, card::kFidKi));
  const CardFile* opc = tree::find(s.image.files, tree::child_of(kDfGsmPath, card::kFidOpc));
  if (!ki || !opc || ki->type != FileType::Ef || opc->type != FileType::Ef || ki->data.size() != kKeySize ||
      opc->data.size() != kKeySize)
    return card::sw::status(card::sw::kInconsistent);
  const auto triplet = milenage::gsm(ki->data, opc->data, a.data);
  Bytes out(triplet.sres.begin(), triplet.sres.end());
  out.insert(out.end(), triplet.kc.begin(), triplet.kc.end());
  const std::size_t n = out.size();
  s.pending = std::move(out);
  return card::sw::status(card::sw::response_ready(n));
}

}  // namespace cardperso::cardsim::cmd
