#include "cardperso/card/service_files.hpp"

#include <set>

#include "cardperso/card/bcd_digits.hpp"

namespace cardperso::card {

Result<Bytes> encode_sst(const std::vector<int>& services, std::size_t size) {
  if (size < 2 || size > 16) return fail("EF_SST size must be 2..16 bytes");
  Bytes out(size, 0x00);
  std::set<int> seen;
  for (int n : services) {
    if (n < 1 || static_cast<std::size_t>(n) > size * 4)
      return fail("SST service " + std::to_string(n) + " out of 1.." + std::to_string(size * 4));
    if (!seen.insert(n).second) return fail("SST service " + std::to_string(n) + " listed twice");
    const int bit = 2 * ((n - 1) % 4);
    out[static_cast<std::size_t>((n - 1) / 4)] |= static_cast<std::uint8_t>(0x03 << bit);
  }
  return out;
}

std::vector<int> decode_sst(ByteView ef) {
  std::vector<int> out;
  for (std::size_t i = 0; i < ef.size(); ++i)
    for (int k = 0; k < 4; ++k)
      if (((ef[i] >> (2 * k)) & 0x03) == 0x03) out.push_back(static_cast<int>(i) * 4 + k + 1);
  return out;
}

Result<Bytes> encode_acc_from_imsi(std::string_view imsi) {
  if (imsi.empty() || !all_digits(imsi)) return fail("ACC: IMSI \"" + std::string(imsi) + "\" is not digits");
  const unsigned acc = 1u << static_cast<unsigned>(imsi.back() - '0');
  Bytes out;
  put_u16(out, static_cast<std::uint16_t>(acc));
  return out;
}

Result<Bytes> encode_ad(int mnc_length, std::size_t size) {
  if (size < 3 || size > 8) return fail("EF_AD size must be 3..8 bytes");
  if (mnc_length != 2 && mnc_length != 3) return fail("MNC length must be 2 or 3");
  Bytes out(size, 0x00);
  if (size >= 4) out[3] = static_cast<std::uint8_t>(mnc_length);
  return out;
}

}  // namespace cardperso::card
