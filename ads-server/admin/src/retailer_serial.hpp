#pragma once
// Numbers adsctl makes up: retailer serials, PINs and PUKs, all from OpenSSL's RNG.
#include <string>

#include "cardperso/common/secret_bytes.hpp"

namespace cardperso::adsctl {

// n uniformly random decimal digits (rejection sampling, no modulo bias).
std::string random_digits(std::size_t n);
// "89" + 16 random digits + Luhn check digit: 19 digits, shaped like an ICCID.
std::string generate_retailer_serial();

}  // namespace cardperso::adsctl
