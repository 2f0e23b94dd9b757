#pragma once
// Subscriber values as GSM 11.11 / TS 51.011 file contents (reference/sim-facts.md §1.4), both ways.
// Every encoder refuses what the file cannot hold instead of truncating it.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cardperso/common/bytes.hpp"
#include "cardperso/common/result.hpp"

namespace cardperso::perso {

// EF_IMSI (6F07), 9 bytes: length byte, then nibble-swapped BCD whose first nibble is 1 (IMSI) or
// 9 (odd digit count), F-padded. 6..15 digits.
Result<Bytes> encode_imsi(std::string_view digits);
Result<std::string> decode_imsi(ByteView ef);

// EF_ICCID (2FE2), 10 bytes: nibble-swapped BCD padded with F to 20 digits. 18..20 digits.
Result<Bytes> encode_iccid(std::string_view digits);
Result<std::string> decode_iccid(ByteView ef);
// Luhn check digit of a digit string ("898821132030000002" -> '8').
char luhn_digit(std::string_view digits);

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

// GSM 03.38 default alphabet, unpacked (one septet per byte), for the characters ASCII shares with
// it: letters, digits, space, ! " # % & ' ( ) * + , - . / : ; < = > ? plus @ $ _ (at other code
// points). Anything else is refused.
Result<Bytes> encode_gsm7(std::string_view text);
Result<std::string> decode_gsm7(ByteView septets);

// EF_SPN (6F46), 17 bytes: display condition, then up to 16 characters GSM-7 unpacked, FF padded.
struct Spn {
  std::uint8_t display_condition = 0x01;  // b1: show in HPLMN, b2: hide in other PLMNs
  std::string name;
  bool operator==(const Spn&) const = default;
};
Result<Bytes> encode_spn(const Spn& spn, std::size_t size = 17);
Result<Spn> decode_spn(ByteView ef);

// EF_MSISDN (6F40) record: alpha identifier (record_length - 14 bytes, GSM-7, FF padded), BCD length
// (TON/NPI byte + number bytes), TON/NPI, 10 bytes nibble-swapped BCD F-padded, CCP FF, EXT FF.
// A leading '+' means TON/NPI 91 (international, E.164); otherwise 81 unless ton_npi is given.
struct Msisdn {
  std::string number;  // digits, optionally a leading '+'; 1..20 digits
  std::optional<std::uint8_t> ton_npi;
  std::string alpha;
};
Result<Bytes> encode_msisdn_record(const Msisdn& msisdn, std::size_t record_length);
// The number comes back with '+' when TON is international; ton_npi and alpha filled in.
Result<Msisdn> decode_msisdn_record(ByteView record);

// EF_SST (6F38): 2 bits per service n (b(2n-1) allocated, b(2n) activated), 4 services a byte.
// Every listed service is allocated and activated. Services 1..size*4, no duplicates.
Result<Bytes> encode_sst(const std::vector<int>& services, std::size_t size);
// Services that are both allocated and activated, ascending.
std::vector<int> decode_sst(ByteView ef);

// EF_ACC (6F78), 2 bytes big-endian: access class = last IMSI digit (TS 22.011), ACC = 1 << class.
Result<Bytes> encode_acc_from_imsi(std::string_view imsi);

// EF_AD (6FAD): MS operation mode 00 (normal), 2 bytes of additional information 00 00, and when
// the file has a 4th byte the MNC length (2 or 3). size 3..8; bytes after the 4th are 00.
Result<Bytes> encode_ad(int mnc_length, std::size_t size);

// Digits only, for codes typed on the keypad: "1234" -> 31 32 33 34 FF FF FF FF (length 8).
bool all_digits(std::string_view s);

}  // namespace cardperso::perso
