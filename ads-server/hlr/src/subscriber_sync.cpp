#include "cardperso/ads/hlr/subscriber_sync.hpp"

namespace cardperso::ads::hlr {

std::string subscriber_variable(const std::string& imsi, const std::string& field) {
  return "subscriber.by-imsi-" + imsi + "." + field;
}

SubscriberSync SubscriberSync::provision(const SubscriberData& data) {
  SubscriberSync s;
  // Look first: creating an existing subscriber is refused harmlessly, but osmo-hlr logs it as a
  // database error, which would alarm the operator on every redelivery. (osmo-hlr 1.5.0 has no "imsi"
  // field to GET; "msisdn" answers for every subscriber, "none" when it has no number.)
  s.steps_.push_back({{CtrlVerb::Get, subscriber_variable(data.imsi, "msisdn"), CtrlText()}, "No such subscriber.", true});
  s.steps_.push_back({{CtrlVerb::Set, "subscriber.create", CtrlText(data.imsi)}, "Subscriber already exists."});
  s.steps_.push_back({{CtrlVerb::Set, subscriber_variable(data.imsi, "msisdn"), CtrlText(data.msisdn)}, {}});
  {
    std::string k = to_hex(data.k.view()), opc = to_hex(data.opc.view());
    std::string aud3g = "milenage," + k + ",opc," + opc;
    s.steps_.push_back({{CtrlVerb::Set, subscriber_variable(data.imsi, "aud3g"), CtrlText(aud3g)}, {}});
    for (std::string* t : {&k, &opc, &aud3g}) secure_wipe(t->data(), t->capacity());
  }
  s.steps_.push_back({{CtrlVerb::Set, subscriber_variable(data.imsi, "cs-enabled"), CtrlText("1")}, {}});
  s.steps_.push_back({{CtrlVerb::Set, subscriber_variable(data.imsi, "ps-enabled"), CtrlText("1")}, {}});
  return s;
}

SubscriberSync SubscriberSync::remove(const std::string& imsi) {
  SubscriberSync s;
  s.steps_.push_back({{CtrlVerb::Set, "subscriber.delete", CtrlText(imsi)}, "Subscriber doesn't exist."});
  return s;
}

const SubscriberSync::Request* SubscriberSync::current() const {
  if (failure_ || step_ >= steps_.size()) return nullptr;
  return &steps_[step_].request;
}

void SubscriberSync::on_reply(const CtrlReply& reply) {
  if (failure_ || step_ >= steps_.size()) return;
  const Step& step = steps_[step_];
  const bool answered = reply.kind == (step.request.verb == CtrlVerb::Set ? CtrlReply::Kind::SetReply
                                                                           : CtrlReply::Kind::GetReply);
  if (answered) {
    step_ += step.skip_next_when_answered ? 2 : 1;
    return;
  }
  if (reply.kind == CtrlReply::Kind::Error && !step.tolerated_error.empty() && reply.value.view() == step.tolerated_error) {
    ++step_;
    return;
  }
  // The variable names the field (and the IMSI), never a value: safe for the log and the outbox.
  failure_ = "the HLR refused " + step.request.variable + ": " +
             (reply.kind == CtrlReply::Kind::Error ? std::string(reply.value.view().substr(0, 160))
                                                   : std::string("an unexpected reply"));
}

}  // namespace cardperso::ads::hlr
