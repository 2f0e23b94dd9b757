#include "cardperso/card/msisdn.hpp"

#include <algorithm>

#include "cardperso/card/bcd_digits.hpp"
#include "cardperso/card/gsm7_text.hpp"

namespace cardperso::card {

Result<Bytes> encode_msisdn_record(const Msisdn& m, std::size_t record_length) {
  if (record_length < 14 || record_length > 255)
    return fail("MSISDN record length must be 14..255 (got " + std::to_string(record_length) + ")");
  std::string_view number = m.number;
  std::uint8_t ton_npi = 0x81;
  if (!number.empty() && number.front() == '+') {
    number.remove_prefix(1);
    ton_npi = 0x91;
  }
  if (m.ton_npi) ton_npi = *m.ton_npi;
  if (number.empty() || number.size() > 20 || !all_digits(number))
    return fail("MSISDN \"" + m.number + "\" must be 1 to 20 digits, optionally after '+'");
  if (!(ton_npi & 0x80)) return fail("MSISDN TON/NPI must have bit 8 set");
  const std::size_t alpha_len = record_length - 14;
  auto alpha = encode_gsm7(m.alpha);
  if (!alpha) return fail("MSISDN alpha identifier: " + alpha.error().message);
  if (alpha->size() > alpha_len)
    return fail("MSISDN alpha identifier longer than the record's " + std::to_string(alpha_len) + " bytes");
  Bytes out = *alpha;
  out.resize(alpha_len, 0xFF);
  out.push_back(static_cast<std::uint8_t>(1 + (number.size() + 1) / 2));
  out.push_back(ton_npi);
  Bytes bcd = encode_swapped_bcd(number, 10);
  out.insert(out.end(), bcd.begin(), bcd.end());
  out.push_back(0xFF);  // capability/configuration identifier: none
  out.push_back(0xFF);  // extension record: none
  return out;
}

Result<Msisdn> decode_msisdn_record(ByteView rec) {
  if (rec.size() < 14) return fail("MSISDN record shorter than 14 bytes");
  const std::size_t alpha_len = rec.size() - 14;
  auto tail = rec.subspan(alpha_len);
  const std::size_t bcd_len = tail[0];
  if (bcd_len < 2 || bcd_len > 11) return fail("MSISDN record: BCD length " + std::to_string(bcd_len) + " out of 2..11");
  auto digits = decode_swapped_bcd(tail.subspan(2, bcd_len - 1), "MSISDN");
  if (!digits) return digits.error();
  for (std::size_t i = 2 + bcd_len - 1; i < 12; ++i)
    if (tail[i] != 0xFF) return fail("MSISDN record: bytes after the number are not FF");
  Msisdn m;
  m.ton_npi = tail[1];
  m.number = ((tail[1] & 0x70) == 0x10 ? "+" : "") + *digits;
  auto alpha = rec.subspan(0, alpha_len);
  auto end = std::find(alpha.begin(), alpha.end(), std::uint8_t{0xFF});
  auto text = decode_gsm7(ByteView(alpha.data(), static_cast<std::size_t>(end - alpha.begin())));
  if (!text) return fail("MSISDN alpha identifier: " + text.error().message);
  m.alpha = *text;
  return m;
}

}  // namespace cardperso::card
