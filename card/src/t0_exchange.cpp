#include "cardperso/card/t0_exchange.hpp"

#include "cardperso/card/apdu_builders.hpp"

#include <string>

namespace cardperso::card {
namespace {

constexpr int kMaxGetResponseRounds = 256;

// The same command with Le = le: replaces P3 of a case-2 header, or the trailing Le of a case-4
// command, or appends one to a case-1/3 command.
Bytes with_le(ByteView command, std::uint8_t le) {
  Bytes out(command.begin(), command.end());
  if (out.size() == 4) {
    out.push_back(le);
  } else if (out.size() == 5) {
    out[4] = le;
  } else if (out.size() > 5) {
    const std::size_t lc = out[4];
    if (out.size() == 5 + lc) {
      out.push_back(le);
    } else {
      out.back() = le;
    }
  }
  return out;
}

}  // namespace

Result<ApduResponse> split_response(ByteView raw) {
  if (raw.size() < 2) {
    return fail("card answered with " + std::to_string(raw.size()) +
                " byte(s), fewer than the 2 status bytes; the card or reader is faulty");
  }
  ApduResponse r;
  r.data.assign(raw.begin(), raw.end() - 2);
  r.sw = get_u16(raw, raw.size() - 2);
  return r;
}

Result<ApduResponse> fetch_response(const TransmitFn& transmit, std::uint8_t cla, std::uint8_t length) {
  auto raw = transmit(get_response_apdu(length, cla));
  if (!raw) return raw.error();
  return split_response(*raw);
}

Result<ApduResponse> exchange_apdu(const TransmitFn& transmit, ByteView command) {
  if (command.size() < 4) {
    return fail("APDU of " + std::to_string(command.size()) + " byte(s) is too short; a command has at least CLA INS P1 P2");
  }
  auto raw = transmit(command);
  if (!raw) return raw.error();
  auto response = split_response(*raw);
  if (!response) return response;

  if (response->sw1() == sw::kSw1WrongLe) {
    raw = transmit(with_le(command, response->sw2()));
    if (!raw) return raw.error();
    response = split_response(*raw);
    if (!response) return response;
  }

  ApduResponse result;
  result.data = std::move(response->data);
  result.sw = response->sw;
  for (int rounds = 0; sw::response_pending(result.sw); ++rounds) {
    // Each round must bring data; a card answering 61xx/9Fxx forever with nothing is faulty.
    if (rounds == kMaxGetResponseRounds) {
      return fail("card still announced more data after " + std::to_string(kMaxGetResponseRounds) +
                  " GET RESPONSE commands; the card is faulty");
    }
    auto part = fetch_response(transmit, command[0], result.sw2());
    if (!part) return part;
    if (result.data.size() + part->data.size() > kMaxResponseData) {
      return fail("card sent more than " + std::to_string(kMaxResponseData) +
                  " bytes through GET RESPONSE; the card is faulty");
    }
    result.data.insert(result.data.end(), part->data.begin(), part->data.end());
    result.sw = part->sw;
  }
  return result;
}

}  // namespace cardperso::card
