#include "cardperso/ads/service/close_reason.hpp"

namespace cardperso::ads {

namespace {
const char* short_name(proto::ErrorCode code) {
  using proto::ErrorCode;
  switch (code) {
    case ErrorCode::UnknownRetailer: return "unknown retailer";
    case ErrorCode::RetailerRevoked: return "retailer revoked";
    case ErrorCode::RetailerLocked: return "retailer locked";
    case ErrorCode::RetailerAuthFailed: return "retailer authentication failed";
    case ErrorCode::IssuerAuthFailed: return "issuer authentication failed";
    case ErrorCode::KeyConfirmationFailed: return "key confirmation failed";
    case ErrorCode::Timeout: return "timeout";
    default: return nullptr;
  }
}
}  // namespace

std::string short_reason(const proto::Close& close) {
  if (const char* s = short_name(close.code)) return s;
  if (!close.reason.empty()) return close.reason;
  return std::string(proto::describe(close.code));
}

SessionEnd classify_end(bool established, proto::ErrorCode code, const std::string& reason) {
  if (!established) return {SessionOutcome::Failed, "refused: " + reason};
  if (code == proto::ErrorCode::None) return {SessionOutcome::Completed, "completed"};
  return {SessionOutcome::Aborted, "aborted: " + reason};
}

}  // namespace cardperso::ads
