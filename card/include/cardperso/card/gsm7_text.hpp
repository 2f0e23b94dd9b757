#pragma once
// Text on the card: the GSM 03.38 §6.2.1 default alphabet, unpacked (one septet per byte, as
// GSM 11.11 stores alpha identifiers), and EF_SPN (6F46; GSM 11.11 §10.3.11).
#include <cstdint>
#include <string>
#include <string_view>

#include "cardperso/common/bytes.hpp"
#include "cardperso/common/result.hpp"

namespace cardperso::card {

// The characters ASCII shares with the default alphabet: letters, digits, space,
// ! " # % & ' ( ) * + , - . / : ; < = > ? plus @ $ _ (at other code points). Anything else is refused.
Result<Bytes> encode_gsm7(std::string_view text);
Result<std::string> decode_gsm7(ByteView septets);

// EF_SPN, 17 bytes: display condition, then up to 16 characters GSM-7 unpacked, FF padded.
struct Spn {
  std::uint8_t display_condition = 0x01;  // b1: show in HPLMN, b2: hide in other PLMNs
  std::string name;
  bool operator==(const Spn&) const = default;
};
Result<Bytes> encode_spn(const Spn& spn, std::size_t size = 17);
Result<Spn> decode_spn(ByteView ef);

}  // namespace cardperso::card
