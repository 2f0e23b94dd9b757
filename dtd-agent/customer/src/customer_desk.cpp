#include "cardperso/dtd/customer_desk.hpp"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>
#include <ostream>

#include "cardperso/dtd/receipt_printer.hpp"
#include "cardperso/proto/perso_messages.hpp"

namespace cardperso::dtd {

namespace {
using proto::MessageType;

DeskStep with_outcome(DeskStep step, RequestOutcome outcome) {
  step.served = outcome;
  return step;
}
}  // namespace

std::string_view to_string(RequestOutcome outcome) {
  switch (outcome) {
    case RequestOutcome::Personalised: return "personalised";
    case RequestOutcome::Modified: return "modified";
    case RequestOutcome::Refused: return "refused";
    case RequestOutcome::Failed: return "failed";
  }
  return "unknown";
}

CustomerDesk::CustomerDesk(std::vector<CustomerRequest> requests, std::string receipt_dir, std::ostream& terminal)
    : requests_(std::move(requests)), receipt_dir_(std::move(receipt_dir)), terminal_(terminal) {}

DeskStep CustomerDesk::send_current() {
  const CustomerRequest& r = requests_[index_];
  spdlog::info("request {} of {} ({}, {}) sent to the ADS", index_ + 1, requests_.size(),
               r.kind == proto::RequestKind::Modification ? "modification" : "new card", r.origin);
  proto::CustomerDetailsMsg c1;
  c1.kind = r.kind;
  c1.json = r.json;
  DeskStep step;
  step.send.push_back({MessageType::CustomerDetails, c1.encode()});
  state_ = State::AwaitDecision;
  return step;
}

DeskStep CustomerDesk::next() {
  ++index_;
  if (index_ < requests_.size()) return send_current();
  spdlog::info("all {} requests served ({} personalised, {} failed, {} refused); ending the session", requests_.size(),
               personalised_, failed_, refused_);
  state_ = State::Finished;
  DeskStep step;
  step.terminate = true;
  return step;
}

DeskStep CustomerDesk::on_established() {
  if (requests_.empty() || state_ == State::Finished) return {};
  return send_current();
}

void CustomerDesk::on_session_ended() {
  if (state_ != State::Finished) state_ = State::Idle;
}

DeskStep CustomerDesk::on_message(MessageType type, ByteView plaintext) {
  switch (type) {
    case MessageType::Decision:
      if (state_ == State::AwaitDecision) return on_decision(plaintext);
      break;
    case MessageType::Done:
      if (state_ == State::AwaitDone) return on_done(plaintext);
      break;
    case MessageType::Receipt: return on_receipt(plaintext);
    default: break;
  }
  spdlog::warn("{} from the ADS on channel 2 not expected now; ignored", proto::name(type));
  return {};
}

DeskStep CustomerDesk::on_decision(ByteView plaintext) {
  auto d = proto::DecisionMsg::decode(plaintext);
  if (!d) {
    spdlog::error("bad Decision from the ADS: {}", d.error().message);
    return {};
  }
  if (d->go) {
    spdlog::info("decision: go");
    state_ = State::AwaitDone;
    return {};
  }
  spdlog::info("decision: no-go: {}", d->reasons);
  spdlog::info("card refused: {}", d->reasons);
  terminal_ << "Customer refused: " << d->reasons << std::endl;
  ++refused_;
  return with_outcome(next(), RequestOutcome::Refused);
}

DeskStep CustomerDesk::on_done(ByteView plaintext) {
  auto d = proto::DoneMsg::decode(plaintext);
  if (!d) {
    spdlog::error("bad Done from the ADS: {}", d.error().message);
    return {};
  }
  last_iccid_ = d->iccid;
  switch (d->outcome) {
    case proto::PersoOutcome::Personalised:
      ++personalised_;
      spdlog::info("card {} personalised: msisdn {}", d->iccid, d->msisdn);
      state_ = State::AwaitReceipt;
      return with_outcome({}, RequestOutcome::Personalised);
    case proto::PersoOutcome::Modified:
      ++personalised_;
      spdlog::info("card {} updated", d->iccid);
      state_ = State::AwaitReceipt;
      return with_outcome({}, RequestOutcome::Modified);
    case proto::PersoOutcome::Failed:
      ++failed_;
      spdlog::info("card {} failed: {}", d->iccid, d->reason);
      return with_outcome(next(), RequestOutcome::Failed);
    case proto::PersoOutcome::Refused:
      ++refused_;
      spdlog::info("card refused: {}", d->reason);
      return with_outcome(next(), RequestOutcome::Refused);
  }
  return next();
}

DeskStep CustomerDesk::on_receipt(ByteView plaintext) {
  DeskStep step;
  auto r = proto::ReceiptMsg::decode(plaintext);
  auto text = r ? render_receipt(r->json) : Result<std::string>(r.error());
  if (!text) {
    spdlog::error("receipt from the ADS not printable: {}", text.error().message);
  } else {
    terminal_ << *text << std::flush;
    // The file is named after the card: the receipt's own iccid, else the last P4's.
    std::string iccid = last_iccid_;
    auto j = nlohmann::json::parse(r->json, nullptr, false);
    if (j.is_object() && j.contains("iccid") && j["iccid"].is_string()) iccid = j["iccid"].get<std::string>();
    if (!receipt_dir_.empty()) {
      auto path = write_receipt(receipt_dir_, iccid, *text);
      if (path) {
        spdlog::info("receipt written: {}", *path);
        step.receipts_written.push_back(*path);
      } else {
        spdlog::error("receipt not written: {}", path.error().message);
      }
    }
  }
  if (state_ == State::AwaitReceipt) {
    auto more = next();
    more.receipts_written = std::move(step.receipts_written);
    return more;
  }
  return step;
}

}  // namespace cardperso::dtd
