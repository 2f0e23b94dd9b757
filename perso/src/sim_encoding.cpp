#include "cardperso/perso/sim_encoding.hpp"

#include <algorithm>
#include <array>
#include <set>

namespace cardperso::perso {

namespace {

std::uint8_t digit_value(char c) { return static_cast<std::uint8_t>(c - '0'); }

// Digits two per byte, low nibble first, padded with F; exactly `bytes` bytes.
Bytes swapped_bcd(std::string_view digits, std::size_t bytes) {
  Bytes out(bytes, 0xFF);
  for (std::size_t i = 0; i < digits.size(); ++i) {
    std::uint8_t& b = out[i / 2];
    if (i % 2 == 0)
      b = static_cast<std::uint8_t>((b & 0xF0) | digit_value(digits[i]));
    else
      b = static_cast<std::uint8_t>((b & 0x0F) | (digit_value(digits[i]) << 4));
  }
  return out;
}

// Nibble-swapped BCD back to digits: stops at the first F, which must be followed only by F.
Result<std::string> digits_of(ByteView bcd, std::string_view what) {
  std::string out;
  bool ended = false;
  for (std::uint8_t b : bcd) {
    for (std::uint8_t n : {static_cast<std::uint8_t>(b & 0x0F), static_cast<std::uint8_t>(b >> 4)}) {
      if (n == 0xF) {
        ended = true;
      } else if (ended || n > 9) {
        return fail(std::string(what) + ": not BCD digits padded with F (" + to_hex(bcd) + ")");
      } else {
        out.push_back(static_cast<char>('0' + n));
      }
    }
  }
  return out;
}

// The GSM 03.38 code points of the characters we accept that are not at their ASCII position.
constexpr std::array<std::pair<char, std::uint8_t>, 3> kMoved{{{'@', 0x00}, {'$', 0x02}, {'_', 0x11}}};

bool same_as_ascii(char c) {
  if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) return true;
  return std::string_view(" !\"#%&'()*+,-./:;<=>?").find(c) != std::string_view::npos;
}

}  // namespace

bool all_digits(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

Result<Bytes> encode_imsi(std::string_view digits) {
  if (digits.size() < 6 || digits.size() > 15 || !all_digits(digits))
    return fail("IMSI must be 6 to 15 digits (got \"" + std::string(digits) + "\")");
  const bool odd = digits.size() % 2 == 1;
  std::string nibbles(1, odd ? '9' : '1');  // type-and-parity nibble, then the digits
  nibbles += digits;
  Bytes out;
  out.push_back(static_cast<std::uint8_t>((digits.size() + 2) / 2));
  Bytes body = swapped_bcd(nibbles, 8);
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

Result<std::string> decode_imsi(ByteView ef) {
  if (ef.size() != 9) return fail("EF_IMSI: expected 9 bytes, got " + std::to_string(ef.size()));
  const std::size_t len = ef[0];
  if (len < 1 || len > 8) return fail("EF_IMSI: length byte " + std::to_string(len) + " out of 1..8");
  const std::uint8_t type = ef[1] & 0x0F;
  if ((type & 0x07) != 0x01) return fail("EF_IMSI: first nibble is not the IMSI type (" + to_hex(ef) + ")");
  for (std::size_t i = 1 + len; i < 9; ++i)
    if (ef[i] != 0xFF) return fail("EF_IMSI: bytes after the length are not FF");
  std::string digits;
  bool ended = false;
  for (std::size_t i = 1; i <= len; ++i) {
    for (int half = 0; half < 2; ++half) {
      if (i == 1 && half == 0) continue;  // the type-and-parity nibble
      const std::uint8_t n = half == 0 ? (ef[i] & 0x0F) : (ef[i] >> 4);
      if (n == 0x0F) {
        ended = true;
      } else if (ended || n > 9) {
        return fail("EF_IMSI: not BCD digits padded with F (" + to_hex(ef) + ")");
      } else {
        digits.push_back(static_cast<char>('0' + n));
      }
    }
  }
  const bool odd = (type & 0x08) != 0;
  if ((digits.size() % 2 == 1) != odd) return fail("EF_IMSI: parity nibble does not match the digit count");
  if (digits.size() < 6) return fail("EF_IMSI: fewer than 6 digits");
  return digits;
}

char luhn_digit(std::string_view digits) {
  int sum = 0;
  bool twice = true;  // the digit left of the check digit is doubled
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    int d = *it - '0';
    if (twice) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    twice = !twice;
  }
  return static_cast<char>('0' + (10 - sum % 10) % 10);
}

Result<Bytes> encode_iccid(std::string_view digits) {
  if (digits.size() < 18 || digits.size() > 20 || !all_digits(digits))
    return fail("ICCID must be 18 to 20 digits (got \"" + std::string(digits) + "\")");
  return swapped_bcd(digits, 10);
}

Result<std::string> decode_iccid(ByteView ef) {
  if (ef.size() != 10) return fail("EF_ICCID: expected 10 bytes, got " + std::to_string(ef.size()));
  auto d = digits_of(ef, "EF_ICCID");
  if (!d) return d.error();
  if (d->size() < 18) return fail("EF_ICCID: fewer than 18 digits");
  return d;
}

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

Result<Bytes> encode_gsm7(std::string_view text) {
  Bytes out;
  for (char c : text) {
    if (same_as_ascii(c)) {
      out.push_back(static_cast<std::uint8_t>(c));
      continue;
    }
    auto it = std::find_if(kMoved.begin(), kMoved.end(), [c](const auto& m) { return m.first == c; });
    if (it == kMoved.end())
      return fail("character '" + std::string(1, c) + "' is not in the supported GSM 7-bit subset " +
                  "(letters, digits, space and !\"#%&'()*+,-./:;<=>?@$_)");
    out.push_back(it->second);
  }
  return out;
}

Result<std::string> decode_gsm7(ByteView septets) {
  std::string out;
  for (std::uint8_t b : septets) {
    if (b < 0x80 && same_as_ascii(static_cast<char>(b))) {
      out.push_back(static_cast<char>(b));
      continue;
    }
    auto it = std::find_if(kMoved.begin(), kMoved.end(), [b](const auto& m) { return m.second == b; });
    if (it == kMoved.end()) return fail("GSM 7-bit code " + to_hex(ByteView(&b, 1)) + " is outside the supported subset");
    out.push_back(it->first);
  }
  return out;
}

Result<Bytes> encode_spn(const Spn& spn, std::size_t size) {
  if (size < 2 || size > 17) return fail("EF_SPN size must be 2..17 bytes");
  if (spn.name.size() > size - 1)
    return fail("SPN \"" + spn.name + "\" is longer than " + std::to_string(size - 1) + " characters");
  if (spn.display_condition & 0xFC) return fail("SPN display condition uses only bits 1 and 2");
  auto text = encode_gsm7(spn.name);
  if (!text) return fail("SPN: " + text.error().message);
  Bytes out{spn.display_condition};
  out.insert(out.end(), text->begin(), text->end());
  out.resize(size, 0xFF);
  return out;
}

Result<Spn> decode_spn(ByteView ef) {
  if (ef.size() < 2 || ef.size() > 17) return fail("EF_SPN: expected 2..17 bytes");
  auto body = ef.subspan(1);
  auto end = std::find(body.begin(), body.end(), std::uint8_t{0xFF});
  if (std::any_of(end, body.end(), [](std::uint8_t b) { return b != 0xFF; }))
    return fail("EF_SPN: characters after the FF padding");
  auto name = decode_gsm7(ByteView(body.data(), static_cast<std::size_t>(end - body.begin())));
  if (!name) return fail("EF_SPN: " + name.error().message);
  return Spn{ef[0], *name};
}

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
  Bytes bcd = swapped_bcd(number, 10);
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
  auto digits = digits_of(tail.subspan(2, bcd_len - 1), "MSISDN");
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
  const unsigned acc = 1u << digit_value(imsi.back());
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

}  // namespace cardperso::perso
