// CARD PROOF (docs/cards.md §2.3): a stock SIM proves it holds the card key the card maker derived
// for its ICCID by enciphering the issuer's challenge. The key file MF/000C is read and update NEV:
// this command is its only use, and it returns a value computed with the key, never the key.
// No code and no current DF are needed: a blank card has no CHV1, and the issuer asks before it
// hands over the master code. Personalisation never touches 000C, so it works in any state.
#include "cardperso/card/card_key.hpp"
#include "cardperso/card/file_ids.hpp"
#include "cardperso/card/status_words.hpp"
#include "cardperso/common/crypto.hpp"
#include "cardperso/common/secret_bytes.hpp"
#include "file_tree.hpp"
#include "gsm_commands.hpp"

namespace cardperso::cardsim::cmd {

Bytes card_proof(CardSession& s, const Apdu& a) {
  if (a.p1 != 0x00 || a.p2 != 0x00) return card::sw::status(card::sw::kWrongP1P2);
  if (a.p3 != card::kCardChallengeSize) return card::sw::status(card::sw::wrong_length(card::kCardChallengeSize));
  const CardFile* file = tree::find(s.image.files, tree::child_of("3F00", card::kFidCardKey));
  // No key file: a card from elsewhere (pySim, another vendor), which cannot prove it is ours.
  if (!file) return card::sw::status(card::sw::kNotFound);
  if (file->type != FileType::Ef || file->data.size() != card::kCardKeySize)
    return card::sw::status(card::sw::kInconsistent);
  const SecretBytes key(file->data);
  crypto::Block proof = card::card_proof(key.view(), a.data);
  s.pending.assign(proof.begin(), proof.end());
  secure_wipe(proof.data(), proof.size());
  return card::sw::status(card::sw::response_ready(card::kCardChallengeSize));
}

}  // namespace cardperso::cardsim::cmd
