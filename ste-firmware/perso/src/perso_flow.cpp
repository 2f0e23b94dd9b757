#include "cardperso/ste/perso_flow.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace cardperso::ste {

namespace {

using proto::ErrorCode;
using proto::MessageType;
using proto::TerminalPrompt;
using proto::TerminalStatus;

constexpr std::size_t kMinPin = 4, kMaxPin = 8, kPukDigits = 8;

OutgoingMessage message(MessageType type, const Bytes& body) { return {type, SecretBytes(ByteView(body))}; }

perso::ScriptResult refused(std::string reason) {
  perso::ScriptResult r;
  r.outcome = perso::ScriptOutcome::Refused;
  r.reason = std::move(reason);
  return r;
}

bool same(const SecretBytes& a, const SecretBytes& b) {
  return a.size() == b.size() && std::equal(a.data(), a.data() + a.size(), b.data());
}

// Reasons come from the ADS and end up on the display: keep them to one short printable line.
std::string shown(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, 200)) out.push_back(c >= 0x20 && c < 0x7F ? c : '?');
  return out;
}

}  // namespace

CustomerCardFlow::CustomerCardFlow(CardSlot& slot, Keypad& keypad, Display& display, PersoFlowOptions options)
    : CustomerCardFlow(slot, keypad, display, no_status_reporter(), options) {}

CustomerCardFlow::CustomerCardFlow(CardSlot& slot, Keypad& keypad, Display& display, StatusReporter& status,
                                   PersoFlowOptions options)
    : slot_(slot), keypad_(keypad), display_(display), status_(status), options_(options),
      retailer_card_in_reader_(options.retailer_card_in_reader) {}

void CustomerCardFlow::show(std::string_view line, const TerminalStatus& status) {
  display_.show(line);
  status_.report(status);
}

void CustomerCardFlow::await_customer() {
  if (state_ == State::AwaitDecision) status_.report(TerminalPrompt::Ready);
}

FlowStep CustomerCardFlow::end_session(std::string refusal, std::string detail, ErrorCode code) {
  FlowStep step;
  step.end = true;
  step.refusal = std::move(refusal);
  step.detail = std::move(detail);
  step.code = code;
  slot_.disconnect();
  return step;
}

FlowStep CustomerCardFlow::on_message(MessageType type, ByteView plaintext) {
  switch (type) {
    case MessageType::Decision:
      if (state_ == State::AwaitDecision) return on_decision(plaintext);
      break;
    case MessageType::CardCheck:
      if (state_ == State::AwaitCheck) return on_check(plaintext);
      break;
    case MessageType::Script:
      if (state_ == State::AwaitScript) return on_script(plaintext);
      break;
    case MessageType::Done:
      // The ADS may refuse the card right after P1 (unknown card, another retailer's) or after K2 (the
      // clerk cancelled, the card did not prove itself): P4 without P2.
      if (state_ == State::AwaitDone || state_ == State::AwaitScript || state_ == State::AwaitCheck)
        return on_done(plaintext);
      break;
    default: break;
  }
  return end_session("protocol error",
                     fmt::format("{} from the ADS was not expected at this point of the personalisation",
                                 proto::name(type)),
                     ErrorCode::UnexpectedMessage);
}

FlowStep CustomerCardFlow::on_decision(ByteView plaintext) {
  auto decision = proto::DecisionMsg::decode(plaintext);
  if (!decision) return end_session("protocol error", "bad Decision: " + decision.error().message, ErrorCode::BadFrame);
  if (!decision->go) {
    spdlog::info("decision {}: no-go: {}", decision->decision_id, decision->reasons);
    display_.show("Customer refused: " + shown(decision->reasons));
    await_customer();  // the shop PC's console has the reasons from the C2 on channel 2
    return {};
  }
  kind_ = decision->kind;
  spdlog::info("decision {}: go ({})", decision->decision_id,
               kind_ == proto::RequestKind::Modification ? "modification" : "new card");

  if (retailer_card_in_reader_)
    show("Remove retailer card", TerminalStatus::of(TerminalPrompt::RemoveRetailerCard));
  else
    show("Remove customer card", TerminalStatus::of(TerminalPrompt::RemoveCustomerCard));
  auto absent = slot_.wait_absent(options_.card_timeout);
  if (!absent) return end_session("card reader unavailable", absent.error().message, ErrorCode::Internal);
  if (!*absent)
    return end_session("timeout", fmt::format("the card was not removed within {} s", options_.card_timeout.count() / 1000),
                       ErrorCode::Timeout);
  retailer_card_in_reader_ = false;

  show("Insert customer card", TerminalStatus::of(TerminalPrompt::InsertCustomerCard));
  auto present = slot_.wait_present(options_.card_timeout);
  if (!present) return end_session("card reader unavailable", present.error().message, ErrorCode::Internal);
  if (!*present)
    return end_session("timeout", fmt::format("no customer card inserted within {} s", options_.card_timeout.count() / 1000),
                       ErrorCode::Timeout);
  auto atr = slot_.connect();
  if (!atr) return end_session("card not readable", atr.error().message, ErrorCode::Internal);
  const card::TransmitFn transmit = [this](ByteView c) { return slot_.transmit(c); };
  auto iccid = read_iccid(transmit);
  if (!iccid) return end_session("card not readable", iccid.error().message, ErrorCode::Internal);
  if (atr->size() > proto::kMaxAtr) atr->resize(proto::kMaxAtr);  // ATRs are at most 33 bytes (ISO 7816-3)

  iccid_ = *iccid;
  spdlog::info("customer card {} in the reader", iccid_);
  proto::CardInsertedMsg p1;
  p1.iccid = iccid_;
  p1.atr = *atr;
  FlowStep step;
  step.send.push_back(message(MessageType::CardInserted, p1.encode()));
  state_ = State::AwaitCheck;
  return step;
}

FlowStep CustomerCardFlow::on_check(ByteView plaintext) {
  auto check = proto::CardCheckMsg::decode(plaintext);
  if (!check) return end_session("protocol error", "bad CardCheck: " + check.error().message, ErrorCode::BadFrame);
  if (check->iccid != iccid_ || check->kind != kind_)
    return end_session("protocol error",
                       fmt::format("the ADS asked to confirm card {} but card {} is in the reader", check->iccid, iccid_),
                       ErrorCode::UnexpectedMessage);
  state_ = State::AwaitScript;
  FlowStep step;
  proto::CardCheckAnswerMsg k2;
  if (!check->challenge.empty()) {
    const card::TransmitFn transmit = [this](ByteView c) { return slot_.transmit(c); };
    auto proof = card_proof(transmit, check->challenge);
    if (!proof) {
      // Not this terminal's call: the ADS refuses the card and says why (P4).
      spdlog::warn("card {}: no answer to the issuer's challenge: {}", iccid_, proof.error().message);
      k2.answer = proto::CheckAnswer::CardSilent;
      step.send.push_back(message(MessageType::CardCheckAnswer, k2.encode()));
      return step;
    }
    k2.proof = std::move(*proof);
  }
  // What the ADS will write, in its own words: the clerk compares it with the customer and the card.
  const bool modification = kind_ == proto::RequestKind::Modification;
  display_.show("Check: customer " + (check->name.empty() ? std::string("(no name on record)") : check->name));
  if (!check->id.empty()) display_.show("Check: ID " + check->id);
  display_.show("Check: card " + check->iccid);
  if (!check->changes.empty()) display_.show("Check: change " + check->changes);
  show(modification ? "Press OK to update this card, or Cancel" : "Press OK to personalise this card, or Cancel",
       TerminalStatus::of(TerminalPrompt::ConfirmOnTerminal));
  auto ok = keypad_.confirm(modification ? "Update this card?" : "Personalise this card?");
  if (!ok) spdlog::warn("card {}: no answer on the keypad ({}): cancelled", iccid_, ok.error().message);
  if (!ok || !*ok) {
    spdlog::info("card {}: cancelled on the keypad; nothing written", iccid_);
    show("Cancelled: nothing written", TerminalStatus::of(TerminalPrompt::Cancelled));
    k2 = proto::CardCheckAnswerMsg{proto::CheckAnswer::Cancelled, {}};
  } else {
    spdlog::info("card {}: confirmed on the keypad", iccid_);
    k2.answer = proto::CheckAnswer::Confirmed;
  }
  step.send.push_back(message(MessageType::CardCheckAnswer, k2.encode()));
  return step;
}

Result<perso::KeypadEntries> CustomerCardFlow::read_entries(const perso::Script& script) {
  perso::KeypadEntries entries;
  if (script.prompts.pin) {
    for (int attempt = 1;; ++attempt) {
      show("Customer: enter new PIN", TerminalStatus::of(TerminalPrompt::EnterCustomerPin));
      auto pin = keypad_.read_digits("Customer PIN", kMinPin, kMaxPin);
      if (!pin) return fail("PIN entry failed: " + pin.error().message);
      entries.pin = std::move(*pin);
      if (!script.prompts.pin_confirm) break;
      show("Customer: enter new PIN again", TerminalStatus::of(TerminalPrompt::EnterCustomerPinAgain));
      auto again = keypad_.read_digits("Customer PIN again", kMinPin, kMaxPin);
      if (!again) return fail("PIN entry failed: " + again.error().message);
      entries.pin_again = std::move(*again);
      if (same(entries.pin, entries.pin_again)) break;
      entries.pin.wipe();
      entries.pin_again.wipe();
      if (attempt >= options_.pin_attempts) {
        show("PINs differ", TerminalStatus::of(TerminalPrompt::PinsDiffer));
        return fail(fmt::format("the customer typed two different PINs {} times", attempt));
      }
      show("PINs differ: type them again", TerminalStatus::of(TerminalPrompt::PinsDiffer));
    }
  }
  if (script.prompts.puk) {
    show("Customer: enter PUK", TerminalStatus::of(TerminalPrompt::EnterCustomerPuk));
    auto puk = keypad_.read_digits("Customer PUK", kPukDigits, kPukDigits);
    if (!puk) return fail("PUK entry failed: " + puk.error().message);
    entries.puk = std::move(*puk);
  }
  return entries;
}

FlowStep CustomerCardFlow::result_step(const perso::ScriptResult& result) {
  if (result.outcome == perso::ScriptOutcome::Completed)
    spdlog::info("card {}: script completed, {} status words", iccid_, result.status_words.size());
  else
    spdlog::warn("card {}: script {} after {} status words: {}", iccid_, perso::name(result.outcome),
                 result.status_words.size(), result.reason);
  FlowStep step;
  step.send.push_back(message(MessageType::ScriptResult, perso::encode_script_result(result)));
  state_ = State::AwaitDone;
  return step;
}

FlowStep CustomerCardFlow::on_script(ByteView plaintext) {
  auto script = perso::decode_script(plaintext);
  if (!script) return result_step(refused("the script is not valid: " + script.error().message));
  spdlog::info("card {}: script of {} steps received", iccid_, script->steps.size());
  auto entries = read_entries(*script);
  if (!entries) return result_step(refused(entries.error().message));
  if (auto ok = perso::check_keypad_entries(*script, *entries); !ok) return result_step(refused(ok.error().message));
  display_.show(kind_ == proto::RequestKind::Modification ? "Updating card" : "Personalising card");
  const perso::TransmitFn transmit = [this](ByteView c) { return slot_.transmit(c); };
  // Step k of n, as each goes to the card (a script has at most 1024 steps, perso::kMaxScriptSteps).
  const perso::StepObserver progress = [this](std::size_t step, std::size_t steps) {
    status_.report(TerminalStatus::writing(static_cast<std::uint16_t>(step), static_cast<std::uint16_t>(steps)));
  };
  auto result = perso::execute_script(*script, *entries, transmit, progress);
  // The codes and keys of the script go with `script` (SecretBytes) and `entries` here.
  return result_step(result);
}

FlowStep CustomerCardFlow::on_done(ByteView plaintext) {
  auto done = proto::DoneMsg::decode(plaintext);
  if (!done) return end_session("protocol error", "bad Done: " + done.error().message, ErrorCode::BadFrame);
  switch (done->outcome) {
    case proto::PersoOutcome::Personalised:
      spdlog::info("card {} personalised: msisdn {}", done->iccid, done->msisdn);
      show("Card personalised: MSISDN " + done->msisdn, TerminalStatus::of(TerminalPrompt::CardDone));
      break;
    case proto::PersoOutcome::Modified:
      spdlog::info("card {} updated", done->iccid);
      show("Card updated", TerminalStatus::of(TerminalPrompt::CardDone));
      break;
    case proto::PersoOutcome::Failed:
      spdlog::warn("card {} failed: {}", done->iccid, done->reason);
      show("Personalisation failed: " + shown(done->reason), TerminalStatus::of(TerminalPrompt::CardFailed));
      break;
    case proto::PersoOutcome::Refused:
      spdlog::warn("card {} refused: {}", done->iccid, done->reason);
      show("Card refused: " + shown(done->reason), TerminalStatus::of(TerminalPrompt::CardRefused));
      break;
  }
  ++cards_done_;
  state_ = State::AwaitDecision;
  slot_.disconnect();
  show("Remove customer card", TerminalStatus::of(TerminalPrompt::RemoveCustomerCard));
  auto absent = slot_.wait_absent(options_.card_timeout);
  if (!absent || !*absent)
    // Not fatal: the next C2 go asks for the card to be removed again before anything else.
    spdlog::warn("the customer card was not removed: {}", absent ? "timeout" : absent.error().message);
  await_customer();
  return {};
}

}  // namespace cardperso::ste
