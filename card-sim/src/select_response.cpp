#include "select_response.hpp"

#include <algorithm>

#include "fcp_parser.hpp"

namespace cardperso::cardsim {

namespace {
std::uint8_t code_status_byte(const CodeStatus& c) {
  const int tries = std::clamp(c.tries_left, 0, 15);
  return static_cast<std::uint8_t>((c.initialised ? 0x80 : 0x00) | tries);
}
std::uint8_t clamp_byte(std::size_t n) { return static_cast<std::uint8_t>(std::min<std::size_t>(n, 0xFF)); }
}  // namespace

Bytes directory_response(const DirectoryFacts& d) {
  Bytes r(kDirectoryResponseSize, 0x00);
  const auto free_memory = static_cast<std::uint16_t>(std::min<std::size_t>(d.free_memory, 0xFFFF));
  r[2] = static_cast<std::uint8_t>(free_memory >> 8);
  r[3] = static_cast<std::uint8_t>(free_memory);
  r[4] = static_cast<std::uint8_t>(d.fid >> 8);
  r[5] = static_cast<std::uint8_t>(d.fid);
  r[6] = d.is_mf ? 0x01 : 0x02;
  r[12] = static_cast<std::uint8_t>(kDirectoryResponseSize - 13);
  r[13] = d.chv1_disabled ? 0x80 : 0x00;
  r[14] = clamp_byte(d.child_dfs);
  r[15] = clamp_byte(d.child_efs);
  r[16] = clamp_byte(d.codes_initialised);
  r[18] = code_status_byte(d.chv1);
  r[19] = code_status_byte(d.unblock1);
  r[20] = code_status_byte(d.chv2);
  r[21] = code_status_byte(d.unblock2);
  return r;
}

Bytes ef_response(const CardFile& ef, std::uint16_t fid) {
  Bytes r(kEfResponseSize, 0x00);
  const auto size = static_cast<std::uint16_t>(std::min<std::size_t>(ef.data.size(), 0xFFFF));
  r[2] = static_cast<std::uint8_t>(size >> 8);
  r[3] = static_cast<std::uint8_t>(size);
  r[4] = static_cast<std::uint8_t>(fid >> 8);
  r[5] = static_cast<std::uint8_t>(fid);
  r[6] = 0x04;
  const auto ac = access_to_bytes(ef.access);
  r[8] = ac[0];
  r[9] = ac[1];
  r[10] = ac[2];
  r[11] = ef.invalidated ? 0x00 : 0x01;
  r[12] = 0x02;
  r[13] = static_cast<std::uint8_t>(ef.structure);
  r[14] = ef.structure == EfStructure::Transparent ? 0x00 : static_cast<std::uint8_t>(ef.record_length);
  return r;
}

}  // namespace cardperso::cardsim
