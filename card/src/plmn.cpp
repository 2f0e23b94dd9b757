#include "cardperso/card/plmn.hpp"

#include <array>

#include "cardperso/card/bcd_digits.hpp"

namespace cardperso::card {

namespace {
std::uint8_t digit_value(char c) { return static_cast<std::uint8_t>(c - '0'); }
}  // namespace

Result<Plmn> parse_plmn(std::string_view text) {
  std::string mcc, mnc;
  const auto sep = text.find_first_of("/-");
  if (sep != std::string_view::npos) {
    mcc = std::string(text.substr(0, sep));
    mnc = std::string(text.substr(sep + 1));
  } else if (text.size() == 5 || text.size() == 6) {
    mcc = std::string(text.substr(0, 3));
    mnc = std::string(text.substr(3));
  }
  if (mcc.size() != 3 || (mnc.size() != 2 && mnc.size() != 3) || !all_digits(mcc) || !all_digits(mnc))
    return fail("PLMN \"" + std::string(text) + "\": expected MCC/MNC with 3 + 2 or 3 digits, e.g. 001/01");
  return Plmn{mcc, mnc};
}

std::string to_string(const Plmn& plmn) { return plmn.mcc + "/" + plmn.mnc; }

Result<Bytes> encode_plmn(const Plmn& p) {
  if (p.mcc.size() != 3 || (p.mnc.size() != 2 && p.mnc.size() != 3) || !all_digits(p.mcc) || !all_digits(p.mnc))
    return fail("PLMN " + to_string(p) + ": MCC must be 3 digits and MNC 2 or 3");
  auto d = [](char c) { return digit_value(c); };
  const std::uint8_t mnc3 = p.mnc.size() == 3 ? d(p.mnc[2]) : 0x0F;
  return Bytes{static_cast<std::uint8_t>(d(p.mcc[1]) << 4 | d(p.mcc[0])),
               static_cast<std::uint8_t>(mnc3 << 4 | d(p.mcc[2])),
               static_cast<std::uint8_t>(d(p.mnc[1]) << 4 | d(p.mnc[0]))};
}

Result<Plmn> decode_plmn(ByteView b) {
  if (b.size() != 3) return fail("PLMN: expected 3 bytes");
  const std::array<std::uint8_t, 6> n{static_cast<std::uint8_t>(b[0] & 0x0F), static_cast<std::uint8_t>(b[0] >> 4),
                                      static_cast<std::uint8_t>(b[1] & 0x0F), static_cast<std::uint8_t>(b[2] & 0x0F),
                                      static_cast<std::uint8_t>(b[2] >> 4),   static_cast<std::uint8_t>(b[1] >> 4)};
  for (std::size_t i = 0; i < 5; ++i)
    if (n[i] > 9) return fail("PLMN " + to_hex(b) + ": not BCD");
  if (n[5] > 9 && n[5] != 0x0F) return fail("PLMN " + to_hex(b) + ": not BCD");
  Plmn p;
  for (std::size_t i = 0; i < 3; ++i) p.mcc.push_back(static_cast<char>('0' + n[i]));
  for (std::size_t i = 3; i < 6; ++i)
    if (n[i] != 0x0F) p.mnc.push_back(static_cast<char>('0' + n[i]));
  return p;
}

Result<Bytes> encode_plmnsel(const std::vector<Plmn>& plmns, std::size_t size) {
  if (size == 0 || size % 3 != 0) return fail("PLMN selector size " + std::to_string(size) + " is not a multiple of 3");
  if (plmns.size() * 3 > size)
    return fail("PLMN selector: " + std::to_string(plmns.size()) + " entries do not fit in " + std::to_string(size) +
                " bytes");
  Bytes out;
  for (const auto& p : plmns) {
    auto e = encode_plmn(p);
    if (!e) return e.error();
    out.insert(out.end(), e->begin(), e->end());
  }
  out.resize(size, 0xFF);
  return out;
}

Result<std::vector<Plmn>> decode_plmnsel(ByteView ef) {
  if (ef.size() % 3 != 0) return fail("EF_PLMNsel: size is not a multiple of 3");
  std::vector<Plmn> out;
  for (std::size_t i = 0; i < ef.size(); i += 3) {
    auto entry = ef.subspan(i, 3);
    if (entry[0] == 0xFF && entry[1] == 0xFF && entry[2] == 0xFF) continue;
    auto p = decode_plmn(entry);
    if (!p) return p.error();
    out.push_back(*p);
  }
  return out;
}

}  // namespace cardperso::card
