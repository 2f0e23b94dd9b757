#pragma once
// PLMN identities (MCC + MNC) as GSM 11.11 §10.3.4 (EF_PLMNsel) and TS 24.008 §10.5.1.3 store them.
#include <string>
#include <string_view>
#include <vector>

#include "cardperso/common/bytes.hpp"
#include "cardperso/common/result.hpp"

namespace cardperso::card {

struct Plmn {
  std::string mcc;  // 3 digits
  std::string mnc;  // 2 or 3 digits
  bool operator==(const Plmn&) const = default;
};
// "001/01", "001-01" or "00101" (5 digits: 2-digit MNC, 6 digits: 3-digit MNC).
Result<Plmn> parse_plmn(std::string_view text);
std::string to_string(const Plmn& plmn);  // "001/01"
// 3 bytes: MCC2 MCC1 | MNC3 MCC3 | MNC2 MNC1 (MNC3 = F for a 2-digit MNC): 001/01 -> 00F110.
Result<Bytes> encode_plmn(const Plmn& plmn);
Result<Plmn> decode_plmn(ByteView three);
// EF_PLMNsel (6F30): the list in order, the rest of the file FFFFFF. size must be a multiple of 3.
Result<Bytes> encode_plmnsel(const std::vector<Plmn>& plmns, std::size_t size);
Result<std::vector<Plmn>> decode_plmnsel(ByteView ef);

}  // namespace cardperso::card
