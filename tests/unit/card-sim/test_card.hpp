#pragma once
// A personalised test SIM and helpers to talk to it in raw APDU hex.
#include <gtest/gtest.h>

#include <string_view>

#include "cardperso/cardsim/card_image.hpp"
#include "cardperso/cardsim/sim_card.hpp"
#include "cardperso/common/bytes.hpp"

namespace cardperso::cardsim::test {

// Codes of the test card (ASCII digits padded with FF).
inline const char* const kPin1 = "31323334FFFFFFFF";    // "1234"
inline const char* const kPuk1 = "3132333435363738";    // "12345678"
inline const char* const kPin2 = "35363738FFFFFFFF";    // "5678"
inline const char* const kPuk2 = "3837363534333231";    // "87654321"
inline const char* const kAdm = "3131313131313131";     // "11111111"
inline const char* const kWrong = "39393939FFFFFFFF";   // "9999"

inline const char* const kKi = "465b5ce8b199b49faa5f0a2ee238a6bc";
inline const char* const kOpc = "cd63cb71954a9f4e48a5994e37a02baf";

inline CardFile ef(std::string path, std::string_view access, std::string_view data,
                   EfStructure s = EfStructure::Transparent, std::size_t record_length = 0) {
  CardFile f;
  f.path = std::move(path);
  f.type = FileType::Ef;
  f.structure = s;
  f.record_length = record_length;
  Bytes ac = hex(access);
  f.access.read = ac[0] >> 4;
  f.access.update = ac[0] & 0xF;
  f.access.increase = ac[1] >> 4;
  f.access.rehabilitate = ac[2] >> 4;
  f.access.invalidate = ac[2] & 0xF;
  f.data = hex(data);
  return f;
}

inline CardFile dir(std::string path, FileType t = FileType::Df) {
  CardFile f;
  f.path = std::move(path);
  f.type = t;
  return f;
}

// MF: ICCID, the five code files; DF_TELECOM: MSISDN (linear fixed 3 x 4, CHV1/CHV1), FDN (CHV1/CHV2);
// DF_GSM: IMSI (CHV1/ADM), ACM (cyclic 3 x 3, CHV1/CHV1), SPN (ALW/ADM), Ki, OPc, a LOCI to invalidate.
inline CardImage test_image() {
  CardImage img;
  img.kind = "sim";
  img.atr = hex("3B981100435053494D303031");
  img.files = {
      dir("3F00", FileType::Mf),
      ef("3F00/2FE2", "0FF0AA", "988812310203000020f8"),
      ef("3F00/0000", "FAF0AA", kPin1),
      ef("3F00/0001", "FAF0AA", kPuk1),
      ef("3F00/0002", "FAF0AA", kPin2),
      ef("3F00/0003", "FAF0AA", kPuk2),
      ef("3F00/000A", "FAF0AA", kAdm),
      dir("3F00/7F10"),
      ef("3F00/7F10/6F40", "11F0AA", "010203040506070809101112", EfStructure::LinearFixed, 4),
      ef("3F00/7F10/6F3B", "12F0AA", "aabbccdd"),
      dir("3F00/7F20"),
      ef("3F00/7F20/6F07", "1AF0AA", "080910100000214365"),
      ef("3F00/7F20/6F39", "11F0AA", "111111222222333333", EfStructure::Cyclic, 3),
      ef("3F00/7F20/6F46", "0AF0AA", "0147534d"),
      ef("3F00/7F20/6F7E", "11F011", "0011223344"),
      ef("3F00/7F20/FF02", "FAF0AA", kKi),
      ef("3F00/7F20/FF01", "FAF0AA", kOpc),
      dir("3F00/7F20/5F3C"),
      ef("3F00/7F20/5F3C/4F20", "00F0AA", "42"),
  };
  img.tries_left = {{0x01, 3}, {0x81, 10}, {0x02, 3}, {0x82, 10}, {0x0A, 3}};
  return img;
}

inline std::uint16_t sw_of(const Bytes& r) {
  return r.size() < 2 ? 0 : static_cast<std::uint16_t>(r[r.size() - 2] << 8 | r[r.size() - 1]);
}
inline Bytes data_of(const Bytes& r) { return r.size() < 2 ? Bytes{} : Bytes(r.begin(), r.end() - 2); }

// Sends an APDU written in hex; returns the whole response.
inline Bytes tx(SimCard& card, std::string_view apdu) { return card.transmit(hex(apdu)); }
inline std::uint16_t sw(SimCard& card, std::string_view apdu) { return sw_of(tx(card, apdu)); }

inline std::string verify(std::string_view p2, std::string_view code) {
  return "A02000" + std::string(p2) + "08" + std::string(code);
}
inline std::string select(std::string_view fid) { return "A0A4000002" + std::string(fid); }

// SELECT then GET RESPONSE of the whole response.
inline Bytes select_response(SimCard& card, std::string_view fid) {
  Bytes r = tx(card, select(fid));
  if (r.size() != 2 || r[0] != 0x9F) return {};
  Bytes g = card.transmit(Bytes{0xA0, 0xC0, 0x00, 0x00, r[1]});
  return sw_of(g) == 0x9000 ? data_of(g) : Bytes{};
}

}  // namespace cardperso::cardsim::test
