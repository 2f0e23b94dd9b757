#include "cardperso/card/apdu_builders.hpp"

#include <stdexcept>

#include "cardperso/card/card_key.hpp"

namespace cardperso::card {

namespace {

Bytes with_data(std::uint8_t ins, std::uint8_t p1, std::uint8_t p2, ByteView data) {
  Bytes apdu;
  apdu.reserve(5 + data.size());
  for (std::uint8_t b : {kCla, ins, p1, p2, static_cast<std::uint8_t>(data.size())}) apdu.push_back(b);
  for (std::uint8_t b : data) apdu.push_back(b);
  return apdu;
}

void tlv(Bytes& out, std::uint8_t tag, ByteView value) {
  out.push_back(tag);
  out.push_back(static_cast<std::uint8_t>(value.size()));
  out.insert(out.end(), value.begin(), value.end());
}

Bytes u16(std::uint16_t v) {
  Bytes b;
  put_u16(b, v);
  return b;
}

}  // namespace

Bytes select_apdu(std::uint16_t fid, std::uint8_t cla) {
  Bytes apdu{cla, ins::kSelect, 0x00, 0x00, 0x02};
  put_u16(apdu, fid);
  return apdu;
}

Bytes select_path_apdu(const std::vector<std::uint16_t>& path) {
  Bytes fids;
  for (auto f : path) put_u16(fids, f);
  return with_data(ins::kSelect, 0x08, 0x00, fids);
}

Bytes get_response_apdu(std::uint8_t length, std::uint8_t cla) {
  return Bytes{cla, ins::kGetResponse, 0x00, 0x00, length};
}

Bytes read_binary_apdu(std::uint16_t offset, std::uint8_t length) {
  return Bytes{kCla, ins::kReadBinary, static_cast<std::uint8_t>(offset >> 8), static_cast<std::uint8_t>(offset), length};
}

Bytes update_binary_apdu(std::uint16_t offset, ByteView data) {
  return with_data(ins::kUpdateBinary, static_cast<std::uint8_t>(offset >> 8), static_cast<std::uint8_t>(offset), data);
}

Bytes read_record_apdu(std::uint8_t record, std::uint8_t mode, std::uint8_t length) {
  return Bytes{kCla, ins::kReadRecord, record, mode, length};
}

Bytes update_record_apdu(std::uint8_t record, std::uint8_t mode, ByteView data) {
  return with_data(ins::kUpdateRecord, record, mode, data);
}

SecretBytes verify_chv_apdu(std::uint8_t reference, ByteView code) {
  SecretBytes apdu(5 + code.size());
  const std::uint8_t header[5] = {kCla, ins::kVerifyChv, 0x00, reference, static_cast<std::uint8_t>(code.size())};
  std::copy(header, header + 5, apdu.data());
  std::copy(code.begin(), code.end(), apdu.data() + 5);
  return apdu;
}

Bytes run_gsm_algorithm_apdu(ByteView rand) { return with_data(ins::kRunGsmAlgorithm, 0x00, 0x00, rand); }

Bytes retailer_cryptogram_apdu(ByteView rn1) { return with_data(ins::kRetailerCryptogram, 0x00, 0x00, rn1); }

Bytes check_issuer_apdu(ByteView rn2, ByteView issuer_cryptogram) {
  Bytes data(rn2.begin(), rn2.end());
  data.insert(data.end(), issuer_cryptogram.begin(), issuer_cryptogram.end());
  return with_data(ins::kCheckIssuer, 0x00, 0x00, data);
}

Bytes session_key_input_apdu(SessionKeyRef key, ByteView rn_ads, ByteView rn_ste) {
  Bytes data(rn_ads.begin(), rn_ads.end());
  data.insert(data.end(), rn_ste.begin(), rn_ste.end());
  return with_data(ins::kSessionKeyInput, 0x00, static_cast<std::uint8_t>(key), data);
}

Bytes card_proof_apdu(ByteView challenge) {
  // A wrong size is a caller's bug, not a card's answer: refuse it here instead of sending a
  // command the card can only refuse (6710).
  if (challenge.size() != kCardChallengeSize) throw std::invalid_argument("card proof challenge must be 16 bytes");
  return with_data(ins::kCardProof, 0x00, 0x00, challenge);
}

std::array<std::uint8_t, 3> access_bytes(std::uint8_t read, std::uint8_t update, std::uint8_t increase,
                                         std::uint8_t rehabilitate, std::uint8_t invalidate) {
  return {static_cast<std::uint8_t>((read & 0x0F) << 4 | (update & 0x0F)), static_cast<std::uint8_t>((increase & 0x0F) << 4),
          static_cast<std::uint8_t>((rehabilitate & 0x0F) << 4 | (invalidate & 0x0F))};
}

Bytes create_file_apdu(const NewFile& f) {
  Bytes fcp;
  switch (f.kind) {
    case NewFileKind::Df: tlv(fcp, 0x82, Bytes{0x78, 0x21}); break;
    case NewFileKind::Transparent: tlv(fcp, 0x82, Bytes{0x41, 0x21}); break;
    case NewFileKind::LinearFixed:
    case NewFileKind::Cyclic: {
      Bytes d{static_cast<std::uint8_t>(f.kind == NewFileKind::Cyclic ? 0x46 : 0x42), 0x21};
      put_u16(d, f.record_length);
      d.push_back(f.record_count);
      tlv(fcp, 0x82, d);
      break;
    }
  }
  tlv(fcp, 0x83, u16(f.fid));
  if (f.kind != NewFileKind::Df) {
    tlv(fcp, 0x8A, Bytes{0x05});
    if (f.kind == NewFileKind::Transparent) tlv(fcp, 0x80, u16(f.size));
    tlv(fcp, 0x86, ByteView(f.access.data(), f.access.size()));
  }
  // Header, FCP tag and body: the FCP template is the whole data field.
  Bytes body{0x62, static_cast<std::uint8_t>(fcp.size())};
  body.insert(body.end(), fcp.begin(), fcp.end());
  return with_data(ins::kCreateFile, 0x00, 0x00, body);
}

}  // namespace cardperso::card
