#include "fcp_parser.hpp"

#include <array>
#include <optional>
#include <set>

#include "file_tree.hpp"
#include "cardperso/card/status_words.hpp"

namespace cardperso::cardsim {

AccessConditions access_from_bytes(ByteView b) {
  AccessConditions ac;
  ac.read = static_cast<std::uint8_t>(b[0] >> 4);
  ac.update = static_cast<std::uint8_t>(b[0] & 0x0F);
  ac.increase = static_cast<std::uint8_t>(b[1] >> 4);
  ac.rehabilitate = static_cast<std::uint8_t>(b[2] >> 4);
  ac.invalidate = static_cast<std::uint8_t>(b[2] & 0x0F);
  return ac;
}

std::array<std::uint8_t, 3> access_to_bytes(const AccessConditions& ac) {
  return {static_cast<std::uint8_t>((ac.read & 0x0F) << 4 | (ac.update & 0x0F)),
          static_cast<std::uint8_t>((ac.increase & 0x0F) << 4),
          static_cast<std::uint8_t>((ac.rehabilitate & 0x0F) << 4 | (ac.invalidate & 0x0F))};
}

namespace {

struct Tlv {
  std::uint8_t tag;
  ByteView value;
};

// One BER-TLV with a one-byte tag and a short or 81-form length, checked against what is left.
std::optional<Tlv> next_tlv(ByteView data, std::size_t& at) {
  if (at + 2 > data.size()) return std::nullopt;
  Tlv t{data[at], {}};
  std::size_t len = data[at + 1];
  at += 2;
  if (len == 0x81) {
    if (at + 1 > data.size()) return std::nullopt;
    len = data[at++];
  } else if (len > 0x7F) {
    return std::nullopt;  // an FCP never needs more than 255 bytes
  }
  if (len > data.size() - at) return std::nullopt;
  t.value = data.subspan(at, len);
  at += len;
  return t;
}

bool reserved_fid(std::uint16_t fid) { return fid == 0x3F00 || fid == 0x3FFF || fid == 0xFFFF; }

}  // namespace

std::variant<FcpFile, std::uint16_t> parse_fcp(ByteView fcp) {
  std::size_t at = 0;
  auto outer = next_tlv(fcp, at);
  if (!outer || outer->tag != 0x62 || at != fcp.size()) return card::sw::kBadData;

  FcpFile f;
  bool have_descriptor = false, have_fid = false, have_size = false, have_access = false;
  std::set<std::uint8_t> seen;
  ByteView body = outer->value;
  std::size_t pos = 0;
  while (pos < body.size()) {
    auto t = next_tlv(body, pos);
    if (!t || !seen.insert(t->tag).second) return card::sw::kBadData;
    const ByteView v = t->value;
    switch (t->tag) {
      case 0x82: {
        if (v.empty()) return card::sw::kBadData;
        const std::uint8_t d = v[0];
        if (d == 0x38 || d == 0x78) {
          if (v.size() > 2) return card::sw::kBadData;
          f.type = FileType::Df;
        } else if (d == 0x01 || d == 0x41) {
          if (v.size() > 2) return card::sw::kBadData;
          f.structure = EfStructure::Transparent;
        } else if (d == 0x02 || d == 0x42 || d == 0x06 || d == 0x46) {
          if (v.size() != 5) return card::sw::kBadData;
          f.structure = (d & 0x04) ? EfStructure::Cyclic : EfStructure::LinearFixed;
          f.record_length = get_u16(v, 2);
          f.record_count = v[4];
          if (f.record_length == 0 || f.record_count == 0) return card::sw::kBadData;
        } else {
          return card::sw::kBadData;
        }
        have_descriptor = true;
        break;
      }
      case 0x83:
        if (v.size() != 2) return card::sw::kBadData;
        f.fid = get_u16(v, 0);
        have_fid = true;
        break;
      case 0x80:
        if (v.empty() || v.size() > 2) return card::sw::kBadData;
        f.size = v.size() == 2 ? get_u16(v, 0) : v[0];
        have_size = true;
        break;
      case 0x86:
        if (v.size() != 3) return card::sw::kBadData;
        f.access = access_from_bytes(v);
        have_access = true;
        break;
      case 0x8A:
        if (v.size() != 1) return card::sw::kBadData;
        break;
      case 0x88:
        if (v.size() > 1) return card::sw::kBadData;
        break;
      case 0x81: case 0x84: case 0x8B: case 0x8C: case 0xA5: case 0xAB: case 0xC6:
        break;  // accepted for compatibility with UICC tools; they carry nothing a GSM SIM uses
      default:
        return card::sw::kBadData;
    }
  }
  if (!have_descriptor || !have_fid || reserved_fid(f.fid)) return card::sw::kBadData;

  if (f.type == FileType::Df) {
    f.size = 0;
    return f;
  }
  if (!have_access) {
    // Without tag 86 only the issuer may touch the file.
    f.access = AccessConditions{0xA, 0xA, 0xA, 0xA, 0xA};
  }
  if (f.structure == EfStructure::Transparent) {
    if (!have_size || f.size == 0) return card::sw::kBadData;
  } else {
    if (f.record_length > tree::kMaxRecordLength || f.record_count > tree::kMaxRecords) return card::sw::kNoMemory;
    f.size = f.record_length * f.record_count;
  }
  if (f.size > tree::kMaxEfSize) return card::sw::kNoMemory;
  return f;
}

}  // namespace cardperso::cardsim
