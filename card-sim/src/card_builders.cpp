// The two starting states of a card: a blank SIM from the manufacturer and a retailer card.
#include "cardperso/cardsim/card_builders.hpp"

#include <stdexcept>

#include "access_control.hpp"
#include "cardperso/card/bcd_digits.hpp"
#include "cardperso/card/file_ids.hpp"
#include "file_tree.hpp"

namespace cardperso::cardsim {

namespace {

// ATR: TS 3B, T0 98 (TA1 and TD1 follow, 8 historical bytes), TA1 11 (Fi/Di default), TD1 00 (T=0
// only, nothing follows), then the historical bytes. T=0 only, so no TCK.
Bytes make_atr(std::string_view historical) {
  Bytes atr = hex("3B981100");
  for (char c : historical) atr.push_back(static_cast<std::uint8_t>(c));
  return atr;
}

AccessConditions ac(std::uint8_t read, std::uint8_t update) {
  AccessConditions a;
  a.read = read;
  a.update = update;
  a.increase = 0xF;
  a.rehabilitate = 0xA;
  a.invalidate = 0xA;
  return a;
}

CardFile directory(std::string path, FileType type) {
  CardFile f;
  f.path = std::move(path);
  f.type = type;
  return f;
}

CardFile transparent(std::string path, AccessConditions access, ByteView data) {
  CardFile f;
  f.path = std::move(path);
  f.type = FileType::Ef;
  f.structure = EfStructure::Transparent;
  f.access = access;
  f.data.assign(data.begin(), data.end());
  return f;
}

CardFile code_file(std::uint16_t fid, ByteView code) {
  return transparent(tree::child_of("3F00", fid), ac(0xF, 0xA), code);
}

// A retailer serial: digits are stored like an ICCID (without adding a Luhn digit), anything
// else as its ASCII bytes.
Bytes encode_serial(std::string_view serial) {
  const bool digits = !serial.empty() && serial.size() <= 2 * card::kEfIccidSize && card::all_digits(serial);
  if (digits) return card::encode_swapped_bcd(serial, card::kEfIccidSize);
  if (serial.empty() || serial.size() > 32) throw std::invalid_argument("retailer serial must be 1..32 characters");
  for (char c : serial)
    if (c < 0x20 || c > 0x7E) throw std::invalid_argument("retailer serial must be printable ASCII");
  return Bytes(serial.begin(), serial.end());
}

}  // namespace

CardImage make_blank_sim(std::string_view iccid, ByteView master_code, ByteView card_key) {
  auto ef_iccid = encode_iccid(iccid);
  if (!ef_iccid) throw std::invalid_argument(ef_iccid.error().message);
  if (master_code.size() != card::kCodeSize) throw std::invalid_argument("master code must be 8 bytes");
  if (!card_key.empty() && card_key.size() != card::kCardKeySize)
    throw std::invalid_argument("card key must be 16 bytes");
  CardImage image;
  image.kind = "sim";
  image.atr = make_atr("CPSIM001");
  image.files.push_back(directory("3F00", FileType::Mf));
  image.files.push_back(transparent(tree::child_of("3F00", card::kFidIccid), ac(0x0, 0xF), *ef_iccid));
  image.files.push_back(code_file(card::kFidAdm1, master_code));
  // The card key is written once, here, and never again: read and update NEV (docs/cards.md §2.3).
  if (!card_key.empty())
    image.files.push_back(transparent(tree::child_of("3F00", card::kFidCardKey), ac(0xF, 0xF), card_key));
  image.tries_left[kKeyAdm1] = card::kAdmMaxTries;
  return image;
}

CardImage make_stock_sim(std::string_view iccid, ByteView batch_secret) {
  if (batch_secret.size() != card::kBatchSecretSize) throw std::invalid_argument("batch secret must be 16 bytes");
  // The formulas take the full 19-digit ICCID, the one the card reports in EF_ICCID: an 18-digit
  // one gets its Luhn digit first, so the issuer derives the same values from what it reads.
  auto ef_iccid = encode_iccid(iccid);
  if (!ef_iccid) throw std::invalid_argument(ef_iccid.error().message);
  auto full = decode_iccid(*ef_iccid);
  if (!full) throw std::invalid_argument(full.error().message);
  const SecretBytes master_code = derive_master_code(batch_secret, *full);
  const SecretBytes card_key = derive_card_key(batch_secret, *full);
  return make_blank_sim(*full, master_code.view(), card_key.view());
}

CardImage make_retailer_card(std::string_view serial, std::string_view pin, std::string_view puk,
                             ByteView issuer_code, const RetailerKeys& keys) {
  auto pin_code = encode_pin(pin);
  if (!pin_code) throw std::invalid_argument("retailer PIN: " + pin_code.error().message);
  auto puk_code = encode_pin(puk);
  if (!puk_code) throw std::invalid_argument("retailer PUK: " + puk_code.error().message);
  if (issuer_code.size() != card::kCodeSize) throw std::invalid_argument("issuer code must be 8 bytes");
  for (const SecretBytes* k : {&keys.k_ra, &keys.k_ia, &keys.k_s, &keys.k_d})
    if (k->size() != 16) throw std::invalid_argument("retailer keys must be 16 bytes each");

  SecretBytes key_file(card::kRetailerKeyFileSize);
  key_file[0] = keys.key_version;
  std::size_t at = 1;
  for (const SecretBytes* k : {&keys.k_ra, &keys.k_ia, &keys.k_s, &keys.k_d})
    for (std::size_t i = 0; i < 16; ++i) key_file[at++] = (*k)[i];

  CardImage image;
  image.kind = "retailer";
  image.atr = make_atr("CPRTL001");
  image.files.push_back(directory("3F00", FileType::Mf));
  image.files.push_back(transparent(tree::child_of("3F00", card::kFidIccid), ac(0x0, 0xF), encode_serial(serial)));
  image.files.push_back(code_file(card::kFidChv1, pin_code->view()));
  image.files.push_back(code_file(card::kFidUnblock1, puk_code->view()));
  image.files.push_back(code_file(card::kFidAdm1, issuer_code));
  image.files.push_back(directory(tree::child_of("3F00", card::kFidDfRetailer), FileType::Df));
  // The keys are never readable, with or without the PIN: the card computes with them (docs/cards.md §2.2).
  const std::string df_retailer = tree::child_of("3F00", card::kFidDfRetailer);
  image.files.push_back(transparent(tree::child_of(df_retailer, card::kFidRetailerKeys), ac(0xF, 0xA), key_file.view()));
  image.files.push_back(
      transparent(tree::child_of(df_retailer, card::kFidRetailerKeyVersion), ac(0x0, 0xA), Bytes{keys.key_version}));
  image.tries_left[kKeyChv1] = card::kChvMaxTries;
  image.tries_left[kKeyUnblock1] = card::kUnblockMaxTries;
  image.tries_left[kKeyAdm1] = card::kAdmMaxTries;
  return image;
}

}  // namespace cardperso::cardsim
