#pragma once
// EF_MSISDN (6F40; GSM 11.11 §10.5.5) records.
#include <cstdint>
#include <optional>
#include <string>

#include "cardperso/common/bytes.hpp"
#include "cardperso/common/result.hpp"

namespace cardperso::card {

// A record: alpha identifier (record_length - 14 bytes, GSM-7, FF padded), BCD length (TON/NPI byte +
// number bytes), TON/NPI, 10 bytes nibble-swapped BCD F-padded, CCP FF, EXT FF.
// A leading '+' means TON/NPI 91 (international, E.164); otherwise 81 unless ton_npi is given.
struct Msisdn {
  std::string number;  // digits, optionally a leading '+'; 1..20 digits
  std::optional<std::uint8_t> ton_npi;
  std::string alpha;
};
Result<Bytes> encode_msisdn_record(const Msisdn& msisdn, std::size_t record_length);
// The number comes back with '+' when TON is international; ton_npi and alpha filled in.
Result<Msisdn> decode_msisdn_record(ByteView record);

}  // namespace cardperso::card
