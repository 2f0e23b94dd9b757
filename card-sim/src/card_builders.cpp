// The two starting states of a card: a blank SIM from the manufacturer and a retailer card.
#include "cardperso/cardsim/card_builders.hpp"

#include <stdexcept>

#include "access_control.hpp"
#include "cardperso/cardsim/card_layout.hpp"
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
  bool digits = !serial.empty() && serial.size() <= 20;
  for (char c : serial) digits = digits && c >= '0' && c <= '9';
  if (digits) {
    std::string padded(serial);
    padded.resize(20, 'F');
    Bytes out;
    for (std::size_t i = 0; i < padded.size(); i += 2) {
      auto nibble = [](char c) { return static_cast<std::uint8_t>(c == 'F' ? 0xF : c - '0'); };
      out.push_back(static_cast<std::uint8_t>(nibble(padded[i + 1]) << 4 | nibble(padded[i])));
    }
    return out;
  }
  if (serial.empty() || serial.size() > 32) throw std::invalid_argument("retailer serial must be 1..32 characters");
  for (char c : serial)
    if (c < 0x20 || c > 0x7E) throw std::invalid_argument("retailer serial must be printable ASCII");
  return Bytes(serial.begin(), serial.end());
}

}  // namespace

Result<SecretBytes> encode_pin(std::string_view digits) {
  if (digits.size() < 4 || digits.size() > kCodeSize) return fail("a PIN/PUK must be 4 to 8 digits");
  for (char c : digits)
    if (c < '0' || c > '9') return fail("a PIN/PUK must be digits only");
  SecretBytes code(kCodeSize);
  for (std::size_t i = 0; i < kCodeSize; ++i)
    code[i] = i < digits.size() ? static_cast<std::uint8_t>(digits[i]) : std::uint8_t{0xFF};
  return code;
}

CardImage make_blank_sim(std::string_view iccid, ByteView master_code) {
  auto ef_iccid = encode_iccid(iccid);
  if (!ef_iccid) throw std::invalid_argument(ef_iccid.error().message);
  if (master_code.size() != kCodeSize) throw std::invalid_argument("master code must be 8 bytes");
  CardImage image;
  image.kind = "sim";
  image.atr = make_atr("CPSIM001");
  image.files.push_back(directory("3F00", FileType::Mf));
  image.files.push_back(transparent(tree::child_of("3F00", kFidIccid), ac(0x0, 0xF), *ef_iccid));
  image.files.push_back(code_file(kFidAdm1, master_code));
  image.tries_left[kKeyAdm1] = kAdmMaxTries;
  return image;
}

CardImage make_retailer_card(std::string_view serial, std::string_view pin, std::string_view puk,
                             ByteView issuer_code, const RetailerKeys& keys) {
  auto pin_code = encode_pin(pin);
  if (!pin_code) throw std::invalid_argument("retailer PIN: " + pin_code.error().message);
  auto puk_code = encode_pin(puk);
  if (!puk_code) throw std::invalid_argument("retailer PUK: " + puk_code.error().message);
  if (issuer_code.size() != kCodeSize) throw std::invalid_argument("issuer code must be 8 bytes");
  for (const SecretBytes* k : {&keys.k_ra, &keys.k_ia, &keys.k_s, &keys.k_d})
    if (k->size() != 16) throw std::invalid_argument("retailer keys must be 16 bytes each");

  SecretBytes key_file(kRetailerKeyFileSize);
  key_file[0] = keys.key_version;
  std::size_t at = 1;
  for (const SecretBytes* k : {&keys.k_ra, &keys.k_ia, &keys.k_s, &keys.k_d})
    for (std::size_t i = 0; i < 16; ++i) key_file[at++] = (*k)[i];

  CardImage image;
  image.kind = "retailer";
  image.atr = make_atr("CPRTL001");
  image.files.push_back(directory("3F00", FileType::Mf));
  image.files.push_back(transparent(tree::child_of("3F00", kFidIccid), ac(0x0, 0xF), encode_serial(serial)));
  image.files.push_back(code_file(kFidChv1, pin_code->view()));
  image.files.push_back(code_file(kFidUnblock1, puk_code->view()));
  image.files.push_back(code_file(kFidAdm1, issuer_code));
  image.files.push_back(directory(tree::child_of("3F00", kFidDfRetailer), FileType::Df));
  image.files.push_back(transparent(tree::child_of(tree::child_of("3F00", kFidDfRetailer), kFidRetailerKeys),
                                    ac(0x1, 0xA), key_file.view()));
  image.tries_left[kKeyChv1] = kChvMaxTries;
  image.tries_left[kKeyUnblock1] = kUnblockMaxTries;
  image.tries_left[kKeyAdm1] = kAdmMaxTries;
  return image;
}

}  // namespace cardperso::cardsim
