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
  if (observer_ != nullptr) observer_->request_sent(index_ + 1);
  return step;
}

DeskStep CustomerDesk::next() {
  ++index_;
  if (index_ < requests_.size() && !end_requested_) return send_current();
  if (open_) {
    state_ = State::Idle;
    if (!end_requested_) return {};
    end_requested_ = false;
    spdlog::info("the retailer ended the session ({} request(s) waiting for the next one)", waiting());
    DeskStep step;
    step.terminate = true;
    step.ended_by_retailer = true;
    return step;
  }
  spdlog::info("all {} requests served ({} personalised, {} failed, {} refused); ending the session", requests_.size(),
               personalised_, failed_, refused_);
  state_ = State::Finished;
  DeskStep step;
  step.terminate = true;
  return step;
}

DeskStep CustomerDesk::on_established() {
  session_ = true;
  if (index_ >= requests_.size() || state_ == State::Finished) return {};
  return send_current();
}

void CustomerDesk::on_session_ended() {
  const bool in_progress = state_ == State::AwaitDecision || state_ == State::AwaitDone;
  if (state_ != State::Finished) state_ = State::Idle;
  session_ = false;
  end_requested_ = false;
  if (in_progress && observer_ != nullptr) observer_->interrupted(index_ + 1);
}

DeskStep CustomerDesk::enqueue(CustomerRequest request) {
  requests_.push_back(std::move(request));
  spdlog::info("request {} queued ({})", requests_.size(), requests_.back().origin);
  if (observer_ != nullptr) observer_->request_queued(requests_.size(), requests_.back());
  if (state_ == State::Finished && index_ + 1 == requests_.size()) state_ = State::Idle;
  if (session_ && state_ == State::Idle && index_ + 1 == requests_.size()) return send_current();
  return {};
}

DeskStep CustomerDesk::end_session() {
  if (!session_) return {};
  if (state_ != State::Idle && state_ != State::Finished) {
    end_requested_ = true;
    spdlog::info("the retailer ends the session after the request in progress");
    return {};
  }
  spdlog::info("the retailer ended the session");
  DeskStep step;
  step.terminate = true;
  step.ended_by_retailer = true;
  return step;
}

void CustomerDesk::set_observer(DeskObserver* observer) {
  observer_ = observer;
  if (observer_ == nullptr) return;
  for (std::size_t i = 0; i < requests_.size(); ++i) observer_->request_queued(i + 1, requests_[i]);
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
  if (observer_ != nullptr) observer_->decided(index_ + 1, d->go, d->reasons);
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
  if (observer_ != nullptr) {
    RequestOutcome outcome = RequestOutcome::Failed;
    switch (d->outcome) {
      case proto::PersoOutcome::Personalised: outcome = RequestOutcome::Personalised; break;
      case proto::PersoOutcome::Modified: outcome = RequestOutcome::Modified; break;
      case proto::PersoOutcome::Failed: outcome = RequestOutcome::Failed; break;
      case proto::PersoOutcome::Refused: outcome = RequestOutcome::Refused; break;
    }
    observer_->finished(index_ + 1, {outcome, d->iccid, d->msisdn, d->reason});
  }
  receipt_for_ = index_ + 1;
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
    if (observer_ != nullptr && receipt_for_ != 0) observer_->receipt(receipt_for_, r->json);
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
