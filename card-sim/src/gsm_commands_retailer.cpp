// The retailer card's own commands (docs/cards.md §2.2). The key file 7F50/6F01 is read NEVER: these
// commands are the only use of its keys, and each returns a result computed with one key, never a key.
// They need CHV1 (the retailer's PIN) and DF 7F50 selected, like RUN GSM ALGORITHM needs DF_GSM.
#include <algorithm>

#include "cardperso/card/apdu_builders.hpp"
#include "cardperso/card/file_ids.hpp"
#include "cardperso/card/status_words.hpp"
#include "cardperso/common/crypto.hpp"
#include "cardperso/common/secret_bytes.hpp"
#include "file_tree.hpp"
#include "gsm_commands.hpp"

namespace cardperso::cardsim::cmd {

namespace {

constexpr std::size_t kNonce = card::kRetailerNonceSize;
constexpr std::size_t kKeySize = 16;
const char* const kDfRetailerPath = "3F00/7F50";

// Offsets of the keys in the key file: key_version || K_RA || K_IA || K_S || K_D.
enum class KeySlot : std::size_t { Ra = 0, Ia = 1, S = 2, D = 3 };

// The common preconditions; on success `key` holds the requested key (wiped by its destructor).
std::uint16_t load_key(const CardSession& s, KeySlot slot, SecretBytes& key) {
  if (s.current_df != kDfRetailerPath) return card::sw::kNoEfSelected;
  if (!access_granted(0x1, s.security, chv1_disabled(s.image))) return card::sw::kAccessDenied;
  const CardFile* file = tree::find(s.image.files, tree::child_of(kDfRetailerPath, card::kFidRetailerKeys));
  if (!file || file->type != FileType::Ef || file->data.size() != card::kRetailerKeyFileSize)
    return card::sw::kInconsistent;
  key = SecretBytes(ByteView(file->data).subspan(1 + static_cast<std::size_t>(slot) * kKeySize, kKeySize));
  return card::sw::kOk;
}

Bytes respond(CardSession& s, crypto::Block block) {
  s.pending.assign(block.begin(), block.end());
  secure_wipe(block.data(), block.size());
  return card::sw::status(card::sw::response_ready(kNonce));
}

}  // namespace

Bytes retailer_cryptogram(CardSession& s, const Apdu& a) {
  if (a.p1 != 0x00 || a.p2 != 0x00) return card::sw::status(card::sw::kWrongP1P2);
  if (a.p3 != kNonce) return card::sw::status(card::sw::wrong_length(kNonce));
  SecretBytes k_ra;
  if (auto sw = load_key(s, KeySlot::Ra, k_ra); sw != card::sw::kOk) return card::sw::status(sw);
  return respond(s, crypto::aes128_encrypt_block(k_ra.view(), a.data));
}

Bytes check_issuer(CardSession& s, const Apdu& a) {
  if (a.p1 != 0x00 || a.p2 != 0x00) return card::sw::status(card::sw::kWrongP1P2);
  if (a.p3 != 2 * kNonce) return card::sw::status(card::sw::wrong_length(2 * kNonce));
  SecretBytes k_ia;
  if (auto sw = load_key(s, KeySlot::Ia, k_ia); sw != card::sw::kOk) return card::sw::status(sw);
  crypto::Block expected = crypto::aes128_encrypt_block(k_ia.view(), a.data.first(kNonce));
  const bool match = crypto::ct_equal(expected, a.data.subspan(kNonce, kNonce));
  secure_wipe(expected.data(), expected.size());
  return card::sw::status(match ? card::sw::kOk : card::sw::kAuthMismatch);
}

Bytes session_key_input(CardSession& s, const Apdu& a) {
  if (a.p1 != 0x00) return card::sw::status(card::sw::kWrongP1P2);
  KeySlot slot;
  if (a.p2 == static_cast<std::uint8_t>(card::SessionKeyRef::Ks))
    slot = KeySlot::S;
  else if (a.p2 == static_cast<std::uint8_t>(card::SessionKeyRef::Kd))
    slot = KeySlot::D;
  else
    return card::sw::status(card::sw::kWrongP1P2);
  if (a.p3 != 2 * kNonce) return card::sw::status(card::sw::wrong_length(2 * kNonce));
  SecretBytes key;
  if (auto sw = load_key(s, slot, key); sw != card::sw::kOk) return card::sw::status(sw);
  return respond(s, crypto::aes128_encrypt_xor(key.view(), a.data.first(kNonce), a.data.subspan(kNonce, kNonce)));
}

}  // namespace cardperso::cardsim::cmd
