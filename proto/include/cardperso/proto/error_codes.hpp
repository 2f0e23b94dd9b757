#pragma once
// Error codes carried by the Error message and by the Close action (proto/PROTOCOL.md §Error codes).
// The numbers are part of the wire format: never renumber, only append.
#include <cstdint>
#include <string_view>

namespace cardperso::proto {

enum class ErrorCode : std::uint16_t {
  None = 0,                      // normal end of a session (Close only; never sent in an Error message)
  BadFrame = 1,                  // malformed header or payload
  UnsupportedVersion = 2,        // no protocol version in common
  UnknownRetailer = 3,           // no retailer card with that serial / key version
  RetailerRevoked = 4,           // the issuer revoked the retailer card
  RetailerLocked = 5,            // too many failed authentications; the issuer must unlock it
  RetailerAuthFailed = 6,        // AES_K_RA(RN1) did not match
  IssuerAuthFailed = 7,          // AES_K_IA(RN2) did not match: the server is not the issuer
  KeyConfirmationFailed = 8,     // the transcripts differ (a relay changed something) or wrong K_S/K_D
  DecryptFailed = 9,             // a sealed frame did not authenticate
  CounterOutOfOrder = 10,        // replayed, reordered or dropped sealed frame
  Timeout = 11,                  // a peer did not answer in time
  Internal = 12,                 // a fault on the sending side; retry later
  Busy = 13,                     // rate limited or too many sessions; retry later
  UnexpectedMessage = 14,        // a well-formed message the state machine did not expect
  UnknownSession = 15,           // frame for a session id this side does not know
  AdsUnreachable = 16,           // sent by the DTD: it has no link to the ADS now; retry when it is back
  TerminalNotEnrolled = 17,      // the H1's device key is not an active terminal of this retailer card
  TerminalAuthFailed = 18,       // the H3's terminal signature did not verify
  NotAccepted = 19,              // the ADS's one answer to any refusal at H1 (terminal or card); why is in its log
};

// Short English description, for logs and the retailer's display.
std::string_view describe(ErrorCode code);

}  // namespace cardperso::proto
