#pragma once
// One command/response exchange with a card over T=0, as OpenSC's sc_transmit() does it: neither
// pcsc-lite nor the vpcd/CCID drivers fetch a pending response, so the application does
// (platform-notes.md §2 "T=0 GET RESPONSE"). Pure logic over a transmit function, no PC/SC here.
#include <cstdint>
#include <functional>

#include "cardperso/common/bytes.hpp"
#include "cardperso/common/result.hpp"

namespace cardperso::reader {

// Sends one raw APDU, returns the raw response (data || SW1 SW2).
using TransmitFn = std::function<Result<Bytes>(ByteView)>;

struct ApduResponse {
  Bytes data;
  std::uint16_t sw = 0;
  std::uint8_t sw1() const { return static_cast<std::uint8_t>(sw >> 8); }
  std::uint8_t sw2() const { return static_cast<std::uint8_t>(sw); }
  bool ok() const { return sw == 0x9000; }
};

// Bound on everything collected through GET RESPONSE; a card that keeps answering 61xx is broken.
inline constexpr std::size_t kMaxResponseData = 65536;

// Sends command and completes it:
//  - 9Fxx (GSM) / 61xx (UICC): GET RESPONSE `<CLA> C0 00 00 xx` (xx = 00 means 256), appending
//    data until the status word is something else;
//  - 6Cxx: resends the command once with Le = xx.
// Fails when transmit fails, a response has fewer than 2 bytes, or the data exceeds kMaxResponseData.
Result<ApduResponse> exchange_apdu(const TransmitFn& transmit, ByteView command);

// Splits a raw response; fails on fewer than 2 bytes.
Result<ApduResponse> split_response(ByteView raw);

}  // namespace cardperso::reader
