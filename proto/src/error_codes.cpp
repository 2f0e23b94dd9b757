#include "cardperso/proto/error_codes.hpp"

namespace cardperso::proto {

std::string_view describe(ErrorCode code) {
  switch (code) {
    case ErrorCode::None: return "session ended normally";
    case ErrorCode::BadFrame: return "malformed frame or message";
    case ErrorCode::UnsupportedVersion: return "no protocol version in common";
    case ErrorCode::UnknownRetailer: return "unknown retailer card";
    case ErrorCode::RetailerRevoked: return "retailer card revoked by the issuer";
    case ErrorCode::RetailerLocked: return "retailer card locked after failed authentications";
    case ErrorCode::RetailerAuthFailed: return "retailer authentication failed";
    case ErrorCode::IssuerAuthFailed: return "issuer authentication failed: the server is not the issuer";
    case ErrorCode::KeyConfirmationFailed: return "key confirmation failed: the handshake was altered in transit";
    case ErrorCode::DecryptFailed: return "a sealed message failed authentication";
    case ErrorCode::CounterOutOfOrder: return "a sealed message was replayed, reordered or dropped";
    case ErrorCode::Timeout: return "the peer did not answer in time";
    case ErrorCode::Internal: return "internal error on the sending side";
    case ErrorCode::Busy: return "busy or rate limited; retry later";
    case ErrorCode::UnexpectedMessage: return "unexpected message in this state";
    case ErrorCode::UnknownSession: return "unknown session";
    case ErrorCode::AdsUnreachable: return "the DTD cannot reach the ADS; retry when it is back";
    case ErrorCode::TerminalNotEnrolled: return "this terminal is not enrolled for the retailer card";
    case ErrorCode::TerminalAuthFailed: return "terminal authentication failed: the device signature did not verify";
    case ErrorCode::NotAccepted: return "not accepted by the issuer (the issuer's log says why)";
  }
  return "unknown error code";
}

}  // namespace cardperso::proto
