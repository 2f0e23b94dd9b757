#pragma once
// One command/response exchange with a card over T=0, as OpenSC's sc_transmit() does it: neither
// pcsc-lite nor the vpcd/CCID drivers fetch a pending response, so the application does (ISO 7816-3
// §10.3.3 and GSM 11.11 §9.4.1; rules in docs/cards.md §6.3). Pure logic over a transmit function.
#include <cstdint>
#include <functional>

#include "cardperso/card/status_words.hpp"
#include "cardperso/common/bytes.hpp"
#include "cardperso/common/result.hpp"

namespace cardperso::card {

// Sends one raw APDU, returns the raw response (data || SW1 SW2).
using TransmitFn = std::function<Result<Bytes>(ByteView)>;

struct ApduResponse {
  Bytes data;
  std::uint16_t sw = 0;
  std::uint8_t sw1() const { return sw::sw1(sw); }
  std::uint8_t sw2() const { return sw::sw2(sw); }
  bool ok() const { return sw == sw::kOk; }
};

// Bound on everything collected through GET RESPONSE; a card that keeps answering 61xx is broken.
inline constexpr std::size_t kMaxResponseData = 65536;

// Sends command and completes it:
//  - 9Fxx (GSM) / 61xx (UICC): GET RESPONSE `<CLA> C0 00 00 xx` (xx = 00 means 256), appending
//    data until the status word is something else;
//  - 6Cxx: resends the command once with Le = xx.
// Fails when transmit fails, a response has fewer than 2 bytes, or the data exceeds kMaxResponseData.
Result<ApduResponse> exchange_apdu(const TransmitFn& transmit, ByteView command);

// One GET RESPONSE of `length` bytes with class `cla`, split. For a caller that checks each step.
Result<ApduResponse> fetch_response(const TransmitFn& transmit, std::uint8_t cla, std::uint8_t length);

// Splits a raw response; fails on fewer than 2 bytes.
Result<ApduResponse> split_response(ByteView raw);

}  // namespace cardperso::card
