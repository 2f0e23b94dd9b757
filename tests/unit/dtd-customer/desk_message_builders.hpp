#pragma once
// The ADS's channel-2 plaintexts a desk receives (C2, P4, Receipt), built for the desk's and the
// console's tests.
#include <string>
#include <utility>

#include "cardperso/common/bytes.hpp"
#include "cardperso/proto/perso_messages.hpp"

namespace cardperso::dtd::test {

inline Bytes decision(bool go, std::string reasons = {}) {
  proto::DecisionMsg d;
  d.go = go;
  d.decision_id = 7;
  d.reasons = std::move(reasons);
  return d.encode();
}
inline Bytes done(proto::PersoOutcome o, std::string iccid, std::string msisdn, std::string reason = {}) {
  return proto::DoneMsg{o, std::move(iccid), std::move(msisdn), std::move(reason)}.encode();
}
inline Bytes receipt(std::string json) { return proto::ReceiptMsg{std::move(json)}.encode(); }

}  // namespace cardperso::dtd::test
