#include "retailer_card_writer.hpp"

#include <iomanip>
#include <sstream>

#include "cardperso/cardsim/card_layout.hpp"
#include "cardperso/common/crypto.hpp"

namespace cardperso::adsctl {

namespace {

constexpr std::uint8_t kCla = 0xA0;
constexpr std::size_t kKeySize = 16;
constexpr std::size_t kEfIccidSize = 10;

std::string sw_text(std::uint16_t sw) {
  std::ostringstream out;
  out << std::uppercase << std::hex << std::setw(4) << std::setfill('0') << sw;
  return out.str();
}

Bytes select_apdu(std::uint16_t fid) {
  Bytes apdu{kCla, 0xA4, 0x00, 0x00, 0x02};
  put_u16(apdu, fid);
  return apdu;
}

Bytes with_data(std::uint8_t ins, std::uint8_t p2, ByteView data) {
  Bytes apdu{kCla, ins, 0x00, p2, static_cast<std::uint8_t>(data.size())};
  apdu.insert(apdu.end(), data.begin(), data.end());
  return apdu;
}

// One APDU; a secret APDU is wiped once sent.
Result<reader::ApduResponse> send(const reader::TransmitFn& transmit, Bytes apdu, bool secret) {
  auto response = reader::exchange_apdu(transmit, apdu);
  if (secret) secure_wipe(apdu.data(), apdu.size());
  return response;
}

void tlv(Bytes& out, std::uint8_t tag, ByteView value) {
  out.push_back(tag);
  out.push_back(static_cast<std::uint8_t>(value.size()));
  out.insert(out.end(), value.begin(), value.end());
}

Bytes create_apdu(const Bytes& fcp_body) {
  Bytes apdu;
  apdu.reserve(7 + fcp_body.size());
  for (std::uint8_t b : {kCla, std::uint8_t{0xE0}, std::uint8_t{0x00}, std::uint8_t{0x00},
                         static_cast<std::uint8_t>(fcp_body.size() + 2), std::uint8_t{0x62},
                         static_cast<std::uint8_t>(fcp_body.size())})
    apdu.push_back(b);
  for (std::uint8_t b : fcp_body) apdu.push_back(b);
  return apdu;
}

// Runs the writing steps; `touched` records whether any write reached the card.
class Writer {
 public:
  explicit Writer(const reader::TransmitFn& transmit) : transmit_(transmit) {}

  WriteOutcome run(ByteView adm_code, const RetailerCardContent& c) {
    if (adm_code.size() != cardsim::kCodeSize || c.pin.size() != cardsim::kCodeSize ||
        c.puk.size() != cardsim::kCodeSize || c.issuer_code.size() != cardsim::kCodeSize) {
      return failed(CardAfterFailure::Untouched, "codes must be 8 bytes each; nothing was written");
    }
    for (const SecretBytes* k : {&c.keys.k_ra, &c.keys.k_ia, &c.keys.k_s, &c.keys.k_d})
      if (k->size() != kKeySize) return failed(CardAfterFailure::Untouched, "keys must be 16 bytes each; nothing was written");

    if (auto r = expect_ok(select_apdu(cardsim::kFidMf), false, "select MF"); !r.ok) return r;
    auto verified = send(transmit_, with_data(0x20, cardsim::kRefAdm1, adm_code), true);
    if (!verified) return failed(CardAfterFailure::Untouched, "verify ADM1: " + verified.error().message +
                                                                  "; the card may have counted a try: check the code before trying again");
    if (verified->sw == 0x9804) {
      return failed(CardAfterFailure::AdmRefused,
                    "the card refused the ADM code (SW 9804): one of its 3 ADM tries is used, at most 2 are left; check "
                    "the code before trying again (ADM tries never come back)");
    }
    if (verified->sw == 0x9840) {
      return failed(CardAfterFailure::AdmRefused, "the card's ADM code is blocked (SW 9840): it can never be written; discard it");
    }
    if (verified->sw == 0x9802) {
      return failed(CardAfterFailure::Untouched, "the card has no ADM code (SW 9802): it is not a blank SIM as a manufacturer ships it");
    }
    if (!verified->ok()) return failed(CardAfterFailure::Untouched, "verify ADM1 answered SW " + sw_text(verified->sw));

    const std::uint8_t nev = static_cast<std::uint8_t>(cardsim::Access::Never);
    const std::uint8_t adm = static_cast<std::uint8_t>(cardsim::Access::Adm);
    const std::uint8_t chv1 = static_cast<std::uint8_t>(cardsim::Access::Chv1);
    if (auto r = write_new_ef(cardsim::kFidChv1, c.pin.view(), nev, adm, "CHV1 file 0000"); !r.ok) return r;
    if (auto r = expect_ok(select_apdu(cardsim::kFidMf), false, "select MF"); !r.ok) return r;
    if (auto r = write_new_ef(cardsim::kFidUnblock1, c.puk.view(), nev, adm, "UNBLOCK1 file 0001"); !r.ok) return r;
    if (auto r = expect_ok(select_apdu(cardsim::kFidMf), false, "select MF"); !r.ok) return r;
    if (auto r = expect_ok(create_df_apdu(cardsim::kFidDfRetailer), false, "create DF 7F50"); !r.ok) return r;

    SecretBytes key_file(cardsim::kRetailerKeyFileSize);
    key_file[0] = c.keys.key_version;
    std::size_t at = 1;
    for (const SecretBytes* k : {&c.keys.k_ra, &c.keys.k_ia, &c.keys.k_s, &c.keys.k_d})
      for (std::size_t i = 0; i < kKeySize; ++i) key_file[at++] = (*k)[i];
    if (auto r = write_new_ef(cardsim::kFidRetailerKeys, key_file.view(), chv1, adm, "key file 7F50/6F01"); !r.ok) return r;

    // Read back as the secure terminal will: after VERIFY CHV1 with the retailer's PIN.
    if (auto r = expect_ok(with_data(0x20, cardsim::kRefChv1, c.pin.view()), true, "verify CHV1 with the new PIN"); !r.ok)
      return r;
    if (auto r = expect_ok(select_apdu(cardsim::kFidRetailerKeys), false, "select key file 6F01"); !r.ok) return r;
    auto read = send(transmit_, Bytes{kCla, 0xB0, 0x00, 0x00, static_cast<std::uint8_t>(cardsim::kRetailerKeyFileSize)}, false);
    if (!read) return failed(CardAfterFailure::PartlyWritten, "read back the key file: " + read.error().message);
    const SecretBytes read_back(read->data);
    secure_wipe(read->data.data(), read->data.size());
    if (!read->ok()) return failed(CardAfterFailure::PartlyWritten, "read back the key file: SW " + sw_text(read->sw));
    if (read_back.size() != key_file.size() || !crypto::ct_equal(read_back.view(), key_file.view())) {
      return failed(CardAfterFailure::PartlyWritten, "the key file read back differs from what was written");
    }

    if (auto r = expect_ok(select_apdu(cardsim::kFidMf), false, "select MF"); !r.ok) return r;
    if (auto r = expect_ok(select_apdu(cardsim::kFidAdm1), false, "select ADM1 file 000A"); !r.ok) return r;
    auto issued = send(transmit_, with_data(0xD6, 0x00, c.issuer_code.view()), true);
    if (!issued) {
      return failed(CardAfterFailure::IssuerCodeUnsure, "update ADM1 file 000A: " + issued.error().message);
    }
    if (!issued->ok()) {
      return failed(CardAfterFailure::PartlyWritten, "update ADM1 file 000A answered SW " + sw_text(issued->sw));
    }
    return WriteOutcome{true, {}};
  }

 private:
  WriteOutcome failed(CardAfterFailure state, std::string message) {
    if (state == CardAfterFailure::Untouched && touched_) state = CardAfterFailure::PartlyWritten;
    return WriteOutcome{false, WriteFailure{state, std::move(message)}};
  }

  WriteOutcome expect_ok(Bytes apdu, bool secret, const std::string& what) {
    const bool writes = apdu[1] == 0xE0 || apdu[1] == 0xD6;
    if (writes) touched_ = true;
    auto r = send(transmit_, std::move(apdu), secret);
    if (!r) return failed(CardAfterFailure::Untouched, what + ": " + r.error().message);
    if (!r->ok()) {
      std::string hint;
      if (r->sw == 0x6A89) hint = " (the file exists already: this is not a blank card)";
      if (r->sw == 0x6A84) hint = " (the card has no room left)";
      return failed(CardAfterFailure::Untouched, what + " answered SW " + sw_text(r->sw) + hint);
    }
    return WriteOutcome{true, {}};
  }

  WriteOutcome write_new_ef(std::uint16_t fid, ByteView content, std::uint8_t read, std::uint8_t update,
                            const std::string& what) {
    if (auto r = expect_ok(create_transparent_ef_apdu(fid, static_cast<std::uint16_t>(content.size()), read, update),
                           false, "create " + what);
        !r.ok)
      return r;
    // CREATE FILE leaves the new EF selected.
    return expect_ok(with_data(0xD6, 0x00, content), true, "update " + what);
  }

  const reader::TransmitFn& transmit_;
  bool touched_ = false;
};

}  // namespace

Bytes create_df_apdu(std::uint16_t fid) {
  Bytes body, id;
  put_u16(id, fid);
  tlv(body, 0x82, Bytes{0x78, 0x21});
  tlv(body, 0x83, id);
  return create_apdu(body);
}

Bytes create_transparent_ef_apdu(std::uint16_t fid, std::uint16_t size, std::uint8_t read, std::uint8_t update) {
  Bytes body, id, sz;
  put_u16(id, fid);
  put_u16(sz, size);
  tlv(body, 0x82, Bytes{0x41, 0x21});
  tlv(body, 0x83, id);
  tlv(body, 0x8A, Bytes{0x05});
  tlv(body, 0x80, sz);
  // read/update; increase NEV; rehabilitate/invalidate ADM.
  tlv(body, 0x86, Bytes{static_cast<std::uint8_t>((read & 0x0F) << 4 | (update & 0x0F)), 0xF0, 0xAA});
  return create_apdu(body);
}

WriteOutcome write_retailer_card(const reader::TransmitFn& transmit, ByteView adm_code,
                                 const RetailerCardContent& content) {
  return Writer(transmit).run(adm_code, content);
}

Result<std::string> read_card_serial(const reader::TransmitFn& transmit) {
  for (std::uint16_t fid : {cardsim::kFidMf, cardsim::kFidIccid}) {
    auto r = send(transmit, select_apdu(fid), false);
    if (!r) return r.error();
    if (!r->ok()) return fail("select " + sw_text(fid) + " answered SW " + sw_text(r->sw) + "; is this a SIM card?");
  }
  auto r = send(transmit, Bytes{kCla, 0xB0, 0x00, 0x00, static_cast<std::uint8_t>(kEfIccidSize)}, false);
  if (!r) return r.error();
  if (!r->ok()) return fail("reading EF_ICCID answered SW " + sw_text(r->sw));
  auto digits = cardsim::decode_iccid(r->data);
  if (!digits) return fail("the card's " + digits.error().message);
  return digits;
}

}  // namespace cardperso::adsctl
