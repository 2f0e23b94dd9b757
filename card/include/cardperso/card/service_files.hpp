#pragma once
// The small GSM files personalisation writes besides the identities: EF_SST (6F38; GSM 11.11
// §10.3.7), EF_ACC (6F78; §10.3.15) and EF_AD (6FAD; §10.3.18).
#include <cstddef>
#include <string_view>
#include <vector>

#include "cardperso/common/bytes.hpp"
#include "cardperso/common/result.hpp"

namespace cardperso::card {

// EF_SST: 2 bits per service n (b(2n-1) allocated, b(2n) activated), 4 services a byte.
// Every listed service is allocated and activated. Services 1..size*4, no duplicates.
Result<Bytes> encode_sst(const std::vector<int>& services, std::size_t size);
// Services that are both allocated and activated, ascending.
std::vector<int> decode_sst(ByteView ef);

// EF_ACC, 2 bytes big-endian: access class = last IMSI digit (TS 22.011 §4.2), ACC = 1 << class.
Result<Bytes> encode_acc_from_imsi(std::string_view imsi);

// EF_AD: MS operation mode 00 (normal), 2 bytes of additional information 00 00, and when the file
// has a 4th byte the MNC length (2 or 3). size 3..8; bytes after the 4th are 00.
Result<Bytes> encode_ad(int mnc_length, std::size_t size);

}  // namespace cardperso::card
