#include "retailer_serial.hpp"

#include "cardperso/cardsim/card_builders.hpp"
#include "cardperso/common/crypto.hpp"

namespace cardperso::adsctl {

std::string random_digits(std::size_t n) {
  std::string out;
  out.reserve(n);
  while (out.size() < n) {
    std::uint8_t b = 0;
    crypto::random_bytes(std::span<std::uint8_t>(&b, 1));
    if (b >= 250) continue;  // 250 = 25 * 10: keeps every digit equally likely
    out.push_back(static_cast<char>('0' + b % 10));
  }
  return out;
}

std::string generate_retailer_serial() {
  std::string serial = "89" + random_digits(16);
  serial.push_back(cardsim::luhn_digit(serial));
  return serial;
}

}  // namespace cardperso::adsctl
