#include "access_control.hpp"

#include <algorithm>

#include "cardperso/card/file_ids.hpp"
#include "cardperso/common/crypto.hpp"
#include "file_tree.hpp"
#include "cardperso/card/status_words.hpp"

namespace cardperso::cardsim {

void SecurityState::set(std::uint8_t key, bool verified) {
  if (key == kKeyChv1) chv1 = verified;
  if (key == kKeyChv2) chv2 = verified;
  if (key == kKeyAdm1) adm1 = verified;
}

bool access_granted(std::uint8_t nibble, const SecurityState& s, bool chv1_is_disabled) {
  switch (nibble & 0x0F) {
    case 0x0: return true;
    case 0x1: return s.chv1 || chv1_is_disabled;
    case 0x2: return s.chv2;
    case 0x3: return false;  // RFU
    case 0xF: return false;
    default: return s.adm1;  // 4..E: every ADM level is satisfied by ADM1
  }
}

std::optional<std::uint16_t> code_file_fid(std::uint8_t key) {
  switch (key) {
    case kKeyChv1: return card::kFidChv1;
    case kKeyUnblock1: return card::kFidUnblock1;
    case kKeyChv2: return card::kFidChv2;
    case kKeyUnblock2: return card::kFidUnblock2;
    case kKeyAdm1: return card::kFidAdm1;
    default: return std::nullopt;
  }
}

int max_tries(std::uint8_t key) {
  switch (key) {
    case kKeyUnblock1:
    case kKeyUnblock2: return card::kUnblockMaxTries;
    case kKeyAdm1: return card::kAdmMaxTries;
    default: return card::kChvMaxTries;
  }
}

std::optional<std::uint8_t> code_key_of_path(std::string_view path) {
  if (tree::parent_of(path) != "3F00") return std::nullopt;
  for (std::uint8_t key : {kKeyChv1, kKeyUnblock1, kKeyChv2, kKeyUnblock2, kKeyAdm1})
    if (tree::fid_of(path) == *code_file_fid(key)) return key;
  return std::nullopt;
}

bool is_card_key_file(std::string_view path) {
  return tree::parent_of(path) == "3F00" && tree::fid_of(path) == card::kFidCardKey;
}

bool is_secret_file(std::string_view path) {
  if (code_key_of_path(path)) return true;
  if (is_card_key_file(path)) return true;
  if (tree::parent_of(path) == "3F00/7F20") {
    const auto fid = tree::fid_of(path);
    return fid == card::kFidKi || fid == card::kFidOpc;
  }
  // The retailer keys: the card computes with them and never reveals them (docs/cards.md §2.2), so
  // even an image whose access bytes still say CHV1 (enrolled before that rule) keeps them in.
  if (tree::parent_of(path) == "3F00/7F50") return tree::fid_of(path) == card::kFidRetailerKeys;
  return false;
}

namespace {
const CardFile* code_file(const CardImage& image, std::uint8_t key) {
  auto fid = code_file_fid(key);
  return fid ? tree::find(image.files, tree::child_of("3F00", *fid)) : nullptr;
}
}  // namespace

bool code_initialised(const CardImage& image, std::uint8_t key) {
  const CardFile* f = code_file(image, key);
  if (!f || f->type != FileType::Ef || f->data.size() != card::kCodeSize) return false;
  return !std::all_of(f->data.begin(), f->data.end(), [](std::uint8_t b) { return b == 0xFF; });
}

int tries_left(const CardImage& image, std::uint8_t key) {
  auto it = image.tries_left.find(key);
  return it == image.tries_left.end() ? max_tries(key) : std::clamp(it->second, 0, max_tries(key));
}

bool chv1_disabled(const CardImage& image) {
  auto it = image.chv_disabled.find(kKeyChv1);
  return it != image.chv_disabled.end() && it->second;
}

std::uint16_t present_code(CardImage& image, SecurityState& s, std::uint8_t key, ByteView code, bool& changed) {
  if (!code_initialised(image, key)) return card::sw::kNoChvInitialised;
  const int tries = tries_left(image, key);
  if (tries <= 0) return card::sw::kBlocked;
  if (crypto::ct_equal(code_file(image, key)->data, code)) {
    if (tries != max_tries(key)) {
      image.tries_left[key] = max_tries(key);
      changed = true;
    }
    s.set(key, true);
    return card::sw::kOk;
  }
  image.tries_left[key] = tries - 1;
  changed = true;
  s.set(key, false);
  return tries - 1 == 0 ? card::sw::kBlocked : card::sw::kAccessDenied;
}

void set_code(CardImage& image, std::uint8_t key, ByteView code) {
  auto fid = code_file_fid(key);
  if (!fid) return;
  if (CardFile* f = tree::find(image.files, tree::child_of("3F00", *fid))) f->data.assign(code.begin(), code.end());
  reset_tries(image, key);
}

void reset_tries(CardImage& image, std::uint8_t key) { image.tries_left[key] = max_tries(key); }

}  // namespace cardperso::cardsim
