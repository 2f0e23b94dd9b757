#pragma once
// What one outbox job asks of the HLR, as a sequence of CTRL requests and the replies that count as
// done, sans-I/O. Every sequence is idempotent, so a job redone after a crash or a lost reply has the
// same effect as one delivery:
//   provision: look the IMSI up, subscriber.create when absent (one created meanwhile is fine), then
//              set msisdn, aud3g (milenage, K, OPc), cs-enabled and ps-enabled — a create-or-update;
//   remove:    subscriber.delete (a subscriber already absent is fine).
// osmo-hlr 1.5.0 replies checked: create "Subscriber already exists.", delete "Subscriber doesn't exist.".
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cardperso/ads/hlr/ctrl_codec.hpp"
#include "cardperso/common/secret_bytes.hpp"

namespace cardperso::ads::hlr {

struct SubscriberData {
  std::string imsi, msisdn;
  SecretBytes k, opc;  // 16 bytes each: Milenage
};

class SubscriberSync {
 public:
  static SubscriberSync provision(const SubscriberData& data);
  static SubscriberSync remove(const std::string& imsi);

  struct Request {
    CtrlVerb verb = CtrlVerb::Set;
    std::string variable;
    CtrlText value;  // may hold K and OPc
  };
  // The request to send now; nothing once done or failed.
  const Request* current() const;
  // The HLR's reply to current(). A refusal ends the sync as failed, with the HLR's reason.
  void on_reply(const CtrlReply& reply);

  bool done() const { return !failure_ && step_ == steps_.size(); }
  const std::optional<std::string>& failure() const { return failure_; }
  std::size_t steps() const { return steps_.size(); }

 private:
  struct Step {
    Request request;
    std::string tolerated_error;  // an ERROR reply that still means done
    bool skip_next_when_answered = false;  // a lookup: found, the next step (create) is not needed
  };
  std::vector<Step> steps_;
  std::size_t step_ = 0;
  std::optional<std::string> failure_;
};

// "subscriber.by-imsi-<IMSI>.<field>"
std::string subscriber_variable(const std::string& imsi, const std::string& field);

}  // namespace cardperso::ads::hlr
