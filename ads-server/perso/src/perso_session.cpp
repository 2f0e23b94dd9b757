#include "cardperso/ads/perso/perso_session.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "cardperso/ads/perso/receipt.hpp"
#include "cardperso/ads/perso/written_files.hpp"
#include "cardperso/card/card_key.hpp"
#include "cardperso/common/crypto.hpp"
#include "cardperso/perso/script_builder.hpp"

namespace cardperso::ads {

namespace {

using proto::Channel;
using proto::MessageType;
using proto::PersoOutcome;
using proto::RequestKind;

constexpr std::size_t kKeySize = 16;
constexpr std::size_t kCodeSize = 8;

std::string_view state_name(PersoSession::State s) {
  switch (s) {
    case PersoSession::State::AwaitCustomer: return "waiting for customer details";
    case PersoSession::State::Assessing: return "assessing the customer";
    case PersoSession::State::AwaitCard: return "waiting for the customer card";
    case PersoSession::State::AwaitCheck: return "waiting for the terminal's check of the card";
    case PersoSession::State::AwaitResult: return "waiting for the script result";
    case PersoSession::State::Ended: return "ended";
  }
  return "?";
}

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : "; ") + p;
  return out;
}

SecretBytes as_secret(const Bytes& b) { return SecretBytes(ByteView(b)); }

// What the terminal's display gets (K1): the name as stored, cut to what K1 carries on a character
// boundary; of the ID only its kind and last four characters, enough to compare with the document
// in the clerk's hand and no more on a screen the queue can read.
std::string shown_name(std::string_view name) {
  std::size_t n = std::min(name.size(), proto::kMaxShownName);
  while (n > 0 && n < name.size() && (static_cast<unsigned char>(name[n]) & 0xC0) == 0x80) --n;
  std::string out(name.substr(0, n));
  return proto::displayable_utf8(out) ? out : printable_text(out, proto::kMaxShownName);
}

std::string shown_id(const policy::CustomerDetails& details) {
  if (details.id_number.empty()) return details.id_document.empty() ? "" : printable_text(details.id_document, 32);
  const std::string& number = details.id_number;
  const std::string tail = number.size() > 4 ? number.substr(number.size() - 4) : number;
  const std::string kind = details.id_document.empty() ? std::string("document") : details.id_document;
  return printable_text(kind + " ending " + tail, proto::kMaxShownId);
}

std::string shown_changes(const ModificationRequest& change) {
  std::string out;
  if (change.spn) out += "SPN '" + *change.spn + "'";
  if (change.new_msisdn) out += (out.empty() ? "" : "; ") + std::string("new MSISDN");
  if (change.plmns) {
    std::string list;
    for (const auto& p : *change.plmns) list += (list.empty() ? "" : ", ") + p.mcc + "/" + p.mnc;
    out += (out.empty() ? "" : "; ") + std::string("PLMN list ") + (list.empty() ? "(empty)" : list);
  }
  return printable_text(out, proto::kMaxShownChanges);
}

LogLine info(std::string text) { return {LogLevel::Info, std::move(text)}; }
LogLine warn(std::string text) { return {LogLevel::Warn, std::move(text)}; }
LogLine error(std::string text) { return {LogLevel::Error, std::move(text)}; }

}  // namespace

std::string printable_text(std::string_view text, std::size_t max) {
  std::string out(text.substr(0, max));
  for (auto& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) c = '?';
  return out;
}

PersoSession::PersoSession(PersoServices& services, PersoSessionInfo info) : services_(services), info_(std::move(info)) {}

PersoActions PersoSession::on_message(Channel channel, MessageType type, ByteView plaintext) {
  if (state_ == State::Ended) return {};
  const bool fits = (type == MessageType::CustomerDetails && channel == Channel::DtdAds && state_ == State::AwaitCustomer) ||
                    (type == MessageType::CardInserted && channel == Channel::SteAds && state_ == State::AwaitCard) ||
                    (type == MessageType::CardCheckAnswer && channel == Channel::SteAds && state_ == State::AwaitCheck) ||
                    (type == MessageType::ScriptResult && channel == Channel::SteAds && state_ == State::AwaitResult);
  if (!fits)
    return end({}, proto::ErrorCode::UnexpectedMessage,
               fmt::format("{} on channel {} was not expected while {}", proto::name(type), static_cast<int>(channel),
                           state_name(state_)));
  switch (type) {
    case MessageType::CustomerDetails: return on_customer_details(plaintext);
    case MessageType::CardInserted: return on_card_inserted(plaintext);
    case MessageType::CardCheckAnswer: return on_card_check_answer(plaintext);
    default: return on_script_result(plaintext);
  }
}

// ---- C1 / C2 ----------------------------------------------------------------------------------

PersoActions PersoSession::on_customer_details(ByteView plaintext) {
  auto c1 = proto::CustomerDetailsMsg::decode(plaintext);
  if (!c1) return end({}, proto::ErrorCode::BadFrame, c1.error().message);
  ConfigSnapshot config = services_.config();
  if (c1->kind == RequestKind::NewCard) {
    auto details = policy::parse_customer_details(c1->json);
    if (!details) return decide({}, RequestKind::NewCard, false, {details.error().message}, std::nullopt);
    approval_ = Approval{RequestKind::NewCard, std::move(config), 0, *details, std::nullopt};
    state_ = State::Assessing;
    return {AssessCustomer{std::move(*details)}};
  }
  auto change = parse_modification_request(c1->json, config->profile);
  if (!change) return decide({}, RequestKind::Modification, false, {change.error().message}, std::nullopt);
  // A modification needs no customer assessment, but the card must be one this retailer may modify.
  auto lookup = services_.inspect_card(info_.retailer_serial, change->iccid, CardPurpose::Modification);
  if (!lookup) {
    PersoActions out{error("card " + change->iccid + ": lookup failed: " + lookup.error().message)};
    return decide(std::move(out), RequestKind::Modification, false,
                  {"the card could not be looked up (server error); try again"}, std::nullopt);
  }
  if (lookup->refused()) return decide({}, RequestKind::Modification, false, {lookup->message}, std::nullopt);
  return decide({}, RequestKind::Modification, true, {},
                Approval{RequestKind::Modification, std::move(config), 0, {}, std::move(*change)});
}

PersoActions PersoSession::on_assessment(const policy::Decision& decision) {
  if (state_ != State::Assessing || !approval_) return {};
  state_ = State::AwaitCustomer;
  auto approval = std::move(approval_);
  approval_.reset();
  return decide({}, RequestKind::NewCard, decision.go, decision.reasons, std::move(approval));
}

PersoActions PersoSession::decide(PersoActions out, RequestKind kind, bool go, std::vector<std::string> reasons,
                                  std::optional<Approval> approval) {
  std::int64_t decision_id = 0;
  auto recorded = services_.record_decision(info_.retailer_serial, info_.journal_id, go, reasons);
  if (recorded) {
    decision_id = *recorded;
  } else {
    // An unrecorded decision is no decision: fail closed.
    out.push_back(error("cannot record the decision: " + recorded.error().message));
    go = false;
    reasons = {"the decision could not be recorded (server error); try again"};
  }
  const std::string text = printable_text(join(reasons), proto::kMaxReasonText);
  if (!go) {
    if (kind == RequestKind::NewCard)
      out.push_back(info("customer refused by policy: " + text));
    else
      out.push_back(info("modification refused: " + text));
  } else {
    out.push_back(info(fmt::format("{} accepted: decision {}", kind == RequestKind::NewCard ? "customer" : "modification",
                                   decision_id)));
  }
  proto::DecisionMsg c2{go, kind, static_cast<std::uint64_t>(decision_id), text};
  const Bytes body = c2.encode();
  out.push_back(SealMessage{Channel::DtdAds, MessageType::Decision, as_secret(body)});
  if (go && approval) {
    out.push_back(SealMessage{Channel::SteAds, MessageType::Decision, as_secret(body)});
    approval->decision_id = decision_id;
    approval_ = std::move(approval);
    state_ = State::AwaitCard;
  } else {
    approval_.reset();
    state_ = State::AwaitCustomer;
  }
  return out;
}

// ---- P1 / P2 ----------------------------------------------------------------------------------

PersoActions PersoSession::on_card_inserted(ByteView plaintext) {
  auto p1 = proto::CardInsertedMsg::decode(plaintext);
  if (!p1) return end({}, proto::ErrorCode::BadFrame, p1.error().message);
  state_ = State::AwaitCustomer;  // whatever happens to this card, the next one starts with C1
  const std::string& iccid = p1->iccid;
  const CardPurpose purpose = approval_->kind == RequestKind::NewCard ? CardPurpose::NewCard : CardPurpose::Modification;
  auto refuse = [&](PersoActions out, const std::string& reason) {
    approval_.reset();
    return refuse_card(std::move(out), iccid, reason);
  };
  if (purpose == CardPurpose::Modification && iccid != approval_->change->iccid)
    return refuse({}, "this is not the card whose modification was approved (" + approval_->change->iccid + ")");
  auto lookup = services_.inspect_card(info_.retailer_serial, iccid, purpose);
  if (!lookup) {
    PersoActions out{error("card " + iccid + ": lookup failed: " + lookup.error().message)};
    return refuse(std::move(out), "the card could not be looked up (server error); try again");
  }
  // Nothing is written and no code leaves for a re-issue, so it needs no check at the terminal.
  if (lookup->refusal == CardRefusal::AlreadyPersonalised && purpose == CardPurpose::NewCard) {
    Approval approval = std::move(*approval_);
    approval_.reset();
    if (auto again = reissue(iccid, approval)) return std::move(*again);
  }
  if (lookup->refused()) return refuse({}, lookup->message);
  if (lookup->opening.card_key.empty() && approval_->config->require_card_key) {
    approval_.reset();
    return check_refused({}, iccid, "card_without_key", "retailer=" + info_.retailer_serial,
                         "card " + iccid + " is from a batch without card keys and the issuer accepts only cards that "
                         "prove they are its stock; use a card of another batch");
  }
  return send_card_check({}, iccid, lookup->opening);
}

// K1: the terminal shows what the ADS holds (not what the shop PC showed) and asks the card for its
// proof; no code, key or number has been chosen yet, so a cancel or a false card costs nothing.
PersoActions PersoSession::send_card_check(PersoActions out, const std::string& iccid, const CardOpening& opening) {
  proto::CardCheckMsg k1;
  k1.kind = approval_->kind;
  k1.iccid = iccid;
  CardCheck check{iccid, {}};
  if (!opening.card_key.empty()) {
    k1.challenge = crypto::random_bytes(proto::kCardChallengeSize);
    const auto proof = card::card_proof(opening.card_key.view(), k1.challenge);
    check.expected_proof.assign(proof.begin(), proof.end());
  }
  if (approval_->kind == RequestKind::NewCard) {
    k1.name = shown_name(approval_->details.name);
    k1.id = shown_id(approval_->details);
  } else {
    auto current = services_.current_record(iccid);
    if (current) k1.name = shown_name(current->customer_name);
    k1.changes = shown_changes(*approval_->change);
  }
  out.push_back(info(fmt::format("card {}: asking the terminal to check it ({})", iccid,
                                 k1.challenge.empty() ? "its batch has no card keys: no card proof" : "with a card proof")));
  out.push_back(SealMessage{Channel::SteAds, MessageType::CardCheck, as_secret(k1.encode())});
  check_ = std::move(check);
  state_ = State::AwaitCheck;
  return out;
}

PersoActions PersoSession::on_card_check_answer(ByteView plaintext) {
  auto k2 = proto::CardCheckAnswerMsg::decode(plaintext);
  if (!k2) return end({}, proto::ErrorCode::BadFrame, k2.error().message);
  state_ = State::AwaitCustomer;
  CardCheck check = std::move(*check_);
  check_.reset();
  const std::string& iccid = check.iccid;
  const std::string who = "retailer=" + info_.retailer_serial;
  if (k2->answer == proto::CheckAnswer::Cancelled) {
    approval_.reset();
    return check_refused({}, iccid, "card_cancelled", who, "cancelled on the terminal's keypad; nothing was written");
  }
  if (!check.expected_proof.empty()) {
    const bool proven = k2->answer == proto::CheckAnswer::Confirmed && k2->proof.size() == check.expected_proof.size() &&
                        crypto::ct_equal(k2->proof, check.expected_proof);
    if (!proven) {
      approval_.reset();
      return check_refused({}, iccid, "card_proof_failed",
                           who + (k2->answer == proto::CheckAnswer::CardSilent ? " card=silent" : " card=wrong_proof"),
                           "card " + iccid + " did not prove it is the issuer's card " + iccid +
                               "; keep it apart and report it to the issuer");
    }
  } else if (k2->answer != proto::CheckAnswer::Confirmed) {
    approval_.reset();
    return check_refused({}, iccid, "card_cancelled", who, "the terminal did not confirm the card; nothing was written");
  }
  return start_card({}, iccid);
}

PersoActions PersoSession::check_refused(PersoActions out, const std::string& iccid, std::string_view event,
                                         const std::string& detail, const std::string& reason) {
  if (auto logged = services_.audit_card_check(event, iccid, detail); !logged)
    out.push_back(error("card " + iccid + ": cannot audit " + std::string(event) + ": " + logged.error().message));
  if (event == "card_proof_failed") out.push_back(warn("card " + iccid + ": the card in the reader did not prove it is this card"));
  return refuse_card(std::move(out), iccid, reason);
}

// After the terminal's OK: the card is looked up again (another session may have taken it meanwhile),
// begun, and its script built and sent.
PersoActions PersoSession::start_card(PersoActions out, const std::string& iccid) {
  Approval approval = std::move(*approval_);
  approval_.reset();
  const CardPurpose purpose = approval.kind == RequestKind::NewCard ? CardPurpose::NewCard : CardPurpose::Modification;
  auto lookup = services_.inspect_card(info_.retailer_serial, iccid, purpose);
  if (!lookup) {
    out.push_back(error("card " + iccid + ": lookup failed: " + lookup.error().message));
    return refuse_card(std::move(out), iccid, "the card could not be looked up (server error); try again");
  }
  if (lookup->refused()) return refuse_card(std::move(out), iccid, lookup->message);
  if (auto begun = services_.begin_personalisation(iccid, purpose); !begun)
    return refuse_card(std::move(out), iccid, begun.error().message);

  approval_ = std::move(approval);  // read by the prepare functions, then dropped
  out = purpose == CardPurpose::NewCard ? prepare_new_card(std::move(out), iccid, lookup->opening)
                                        : prepare_modification(std::move(out), iccid, lookup->opening);
  approval_.reset();
  return out;
}

// A new-card request for a card that is already personalised: when this retailer personalised it
// (its only record, version 1) for this same customer, the shop has not heard the outcome (its P4 was
// lost): it gets the committed outcome again — P4 with the MSISDN, the receipt marked re-issued —
// and nothing else changes. Anything else stays a refusal.
std::optional<PersoActions> PersoSession::reissue(const std::string& iccid, const Approval& approval) {
  auto current = services_.current_record(iccid);
  if (!current || current->version.version != 1 || current->version.retailer_serial != info_.retailer_serial ||
      current->customer_name != approval.details.name)
    return std::nullopt;
  PersoActions out;
  auto receipt = services_.reissue_receipt(iccid, info_.retailer_serial, info_.journal_id);
  if (!receipt) {
    out.push_back(error("card " + iccid + ": cannot give its receipt again: " + receipt.error().message));
    return refuse_card(std::move(out), iccid, "the server could not give the card's receipt again; try again");
  }
  out.push_back(info(fmt::format("card {} was personalised before by this retailer for this customer: outcome "
                                 "given again (msisdn {}, receipt re-issued)",
                                 iccid, receipt->msisdn)));
  done(out, PersoOutcome::Personalised, iccid, receipt->msisdn, "");
  send_receipt(out, *receipt);
  ++cards_done_;
  state_ = State::AwaitCustomer;
  return out;
}

void PersoSession::send_receipt(PersoActions& out, const ReceiptData& receipt) {
  proto::ReceiptMsg msg{receipt_json(receipt)};
  const Bytes body = msg.encode();
  out.push_back(SealMessage{Channel::DtdAds, MessageType::Receipt, as_secret(body)});
}

PersoActions PersoSession::refuse_card(PersoActions out, const std::string& iccid, const std::string& reason) {
  const std::string text = printable_text(reason, proto::kMaxReasonText);
  out.push_back(info("card " + iccid + " refused: " + text));
  done(out, PersoOutcome::Refused, iccid, "", text);
  state_ = State::AwaitCustomer;
  return out;
}

// The card is in progress but no APDU went out: give it back (numbers released) and refuse it.
static PersoActions release_and_refuse(PersoServices& services, PersoActions out, const std::string& iccid,
                                       const std::string& reason) {
  if (auto r = services.mark_failed(iccid, CardFailure{"none (before the script)", reason, false, std::nullopt, true}); !r)
    out.push_back(error("card " + iccid + ": cannot record the failure: " + r.error().message));
  return out;
}

PersoActions PersoSession::prepare_new_card(PersoActions out, const std::string& iccid, const CardOpening& opening) {
  const PersoConfig& config = *approval_->config;
  auto numbers = services_.reserve_numbers(iccid);
  if (!numbers) {
    out = release_and_refuse(services_, std::move(out), iccid, numbers.error().message);
    return refuse_card(std::move(out), iccid, numbers.error().message);
  }
  RunningCard card;
  card.config = approval_->config;
  card.iccid = iccid;
  card.purpose = CardPurpose::NewCard;
  card.decision_id = approval_->decision_id;
  card.customer_json = policy::to_json(approval_->details);
  card.customer_name = approval_->details.name;
  card.imsi = numbers->imsi;
  card.msisdn = numbers->msisdn;
  card.ki = crypto::random_secret(kKeySize);
  card.opc = crypto::random_secret(kKeySize);
  // Chosen once and stored before the script leaves: whatever happens to this attempt, the ADS knows
  // the code the card may take, and a retry writes the same one (docs/personalisation.md §5).
  auto pending = services_.pending_issuer_code(iccid);
  if (!pending) {
    out = release_and_refuse(services_, std::move(out), iccid, pending.error().message);
    return refuse_card(std::move(out), iccid, "the server could not prepare the card's issuer code; try again");
  }
  card.issuer_code = std::move(*pending);
  card.opened_with = opening.code_kind;
  card.has_alternative = opening.has_alternative();
  card.rand = crypto::random_bytes(kKeySize);
  card.spn = config.spn;

  std::vector<perso::Plmn> plmns = config.plmns;
  if (plmns.empty()) plmns.push_back(perso::Plmn{card.imsi.substr(0, 3), card.imsi.substr(3, static_cast<std::size_t>(config.mnc_length))});

  perso::PersoValues values;
  values.iccid = iccid;
  values.imsi = card.imsi;
  values.msisdn = card.msisdn;
  values.ki = card.ki;
  values.opc = card.opc;
  values.spn = config.spn;
  values.plmns = plmns;
  values.mnc_length = config.mnc_length;
  values.issuer_code = card.issuer_code;
  values.opening_code = opening.code;
  values.opening_is_issuer_code = opening.code_kind == OpeningCode::Issuer;  // a retry (docs/personalisation.md §5)
  if (opening.has_alternative()) values.opening_alternative = SecretBytes(opening.alternative.view());
  values.mode = perso::PersoMode::Personalise;
  values.rand = card.rand;
  auto hex_plmns = plmnsel_hex(config.profile, plmns);
  if (!hex_plmns) {
    out = release_and_refuse(services_, std::move(out), iccid, hex_plmns.error().message);
    return refuse_card(std::move(out), iccid, "cannot write the PLMN list: " + hex_plmns.error().message);
  }
  card.plmnsel = *hex_plmns;
  return send_script(std::move(out), std::move(card), values);
}

PersoActions PersoSession::prepare_modification(PersoActions out, const std::string& iccid, const CardOpening& opening) {
  const PersoConfig& config = *approval_->config;
  const ModificationRequest& change = *approval_->change;
  auto current = services_.current_record(iccid);
  if (!current) {
    out = release_and_refuse(services_, std::move(out), iccid, current.error().message);
    return refuse_card(std::move(out), iccid, current.error().message);
  }
  RunningCard card;
  card.config = approval_->config;
  card.iccid = iccid;
  card.purpose = CardPurpose::Modification;
  card.decision_id = approval_->decision_id;
  card.customer_name = current->customer_name;
  card.imsi = current->version.imsi;
  card.msisdn = current->version.msisdn;
  card.ki = current->keys.ki;  // for the proof only: the script does not rewrite them
  card.opc = current->keys.opc;
  card.rand = crypto::random_bytes(kKeySize);
  card.spn = change.spn.value_or(current->version.spn);
  card.plmnsel = current->version.plmnsel;
  if (change.new_msisdn) {
    auto msisdn = services_.reserve_new_msisdn(iccid);
    if (!msisdn) {
      out = release_and_refuse(services_, std::move(out), iccid, msisdn.error().message);
      return refuse_card(std::move(out), iccid, "no new number: " + msisdn.error().message);
    }
    card.msisdn = *msisdn;
  }
  if (change.plmns) {
    auto hex_plmns = plmnsel_hex(config.profile, *change.plmns);
    if (!hex_plmns) {
      out = release_and_refuse(services_, std::move(out), iccid, hex_plmns.error().message);
      return refuse_card(std::move(out), iccid, hex_plmns.error().message);
    }
    card.plmnsel = *hex_plmns;
  }

  perso::PersoValues values;
  values.iccid = iccid;
  values.spn = change.spn;
  values.plmns = change.plmns;
  if (change.new_msisdn) values.msisdn = card.msisdn;
  values.mnc_length = config.mnc_length;
  values.opening_code = opening.code;  // the card's issuer code
  values.mode = perso::PersoMode::Modify;
  values.rand = card.rand;  // the modification is proven too
  return send_script(std::move(out), std::move(card), values);
}

PersoActions PersoSession::send_script(PersoActions out, RunningCard card, const perso::PersoValues& values) {
  const perso::CardProfile& profile = card.config->profile;
  auto files = written_files(profile, values);
  auto script = files ? perso::build_personalisation_script(profile, values) : Result<perso::Script>(files.error());
  Result<SecretBytes> encoded = script ? perso::encode_script(*script) : Result<SecretBytes>(script.error());
  if (!encoded) {
    out.push_back(error("card " + card.iccid + ": cannot build its script: " + encoded.error().message));
    out = release_and_refuse(services_, std::move(out), card.iccid, "script: " + encoded.error().message);
    return refuse_card(std::move(out), card.iccid, "the server could not build the card's script");
  }
  card.files = std::move(*files);
  const std::string issuer_update = "update " + profile.adm.file;
  for (std::size_t i = 0; i < script->steps.size(); ++i) {
    const auto& label = script->steps[i].label;
    if (!card.issuer_code.empty() && !card.issuer_code_step && label.compare(0, issuer_update.size(), issuer_update) == 0)
      card.issuer_code_step = i;
    card.step_labels.push_back(label);
  }
  out.push_back(info(fmt::format("card {}: {} script of {} steps sent",
                                 card.iccid, card.purpose == CardPurpose::NewCard ? "personalisation" : "modification",
                                 card.step_labels.size())));
  out.push_back(SealMessage{Channel::SteAds, MessageType::Script, std::move(*encoded)});
  card_ = std::move(card);
  state_ = State::AwaitResult;
  return out;
}

// ---- P3 / P4 ----------------------------------------------------------------------------------

PersoActions PersoSession::on_script_result(ByteView plaintext) {
  state_ = State::AwaitCustomer;
  RunningCard& card = *card_;
  const std::size_t n = card.step_labels.size();
  const bool new_card = card.purpose == CardPurpose::NewCard;
  auto result = perso::decode_script_result(plaintext);
  if (!result)
    return card_failed({}, std::nullopt, "malformed script result: " + result.error().message, false,
                       new_card ? std::optional<CodeOnCard>(CodeOnCard::Unknown) : std::nullopt);
  const std::string reason = printable_text(result->reason, perso::kMaxResultReason);
  const std::optional<CodeOnCard> on_card = new_card ? code_after(card, *result) : std::nullopt;
  switch (result->outcome) {
    case perso::ScriptOutcome::Refused:
      return card_failed({}, std::nullopt, "the STE did not run the script: " + reason, false, std::nullopt, true);
    case perso::ScriptOutcome::UnexpectedStatus:
    case perso::ScriptOutcome::TransmitFailed: {
      const std::size_t step = result->failed_step;
      if (step >= n)
        return card_failed({}, std::nullopt, "inconsistent script result: failed step out of range", false,
                           new_card ? std::optional<CodeOnCard>(CodeOnCard::Unknown) : std::nullopt);
      const bool unexpected = result->outcome == perso::ScriptOutcome::UnexpectedStatus;
      // Step 0 is always VERIFY ADM1 with the opening code(s): a card that refuses it is not retried.
      const bool code_refused = unexpected && step == 0;
      std::string why = reason;
      if (why.empty())
        why = unexpected && !result->status_words.empty()
                  ? fmt::format("status word {:04X}", result->status_words.back())
                  : std::string("the card or reader failed");
      return card_failed({}, step, why, code_refused, on_card, step == 0);
    }
    case perso::ScriptOutcome::Completed: break;
  }
  if (n == 0 || result->failed_step != n || result->status_words.size() != n)
    return card_failed({}, std::nullopt, "inconsistent script result: completed but not every step answered", false,
                       new_card ? std::optional<CodeOnCard>(CodeOnCard::UnknownPendingFirst) : std::nullopt);
  if (auto proof = perso::check_proof(*result, card.ki.view(), card.opc.view(), card.rand); !proof)
    return card_failed({}, n - 1, "proof mismatch: " + proof.error().message, false, on_card);

  if (card.purpose == CardPurpose::NewCard) {
    PersonalisationRecord record;
    record.iccid = card.iccid;
    record.retailer_serial = info_.retailer_serial;
    record.session_id = info_.journal_id;
    record.decision_id = card.decision_id;
    record.content = CardContent{card.imsi, card.msisdn, card.ki, card.opc, card.spn, card.plmnsel,
                                 card.config->profile.name, card.files};
    record.issuer_code = card.issuer_code;
    record.personal_data_json = card.customer_json;
    if (auto r = services_.record_personalisation(record); !r)
      return card_failed({error("card " + card.iccid + ": cannot record it: " + r.error().message)}, n - 1,
                         "the card could not be recorded (server error)", false, on_card);
    return card_recorded({}, 1);
  }
  ModificationRecord record;
  record.iccid = card.iccid;
  record.retailer_serial = info_.retailer_serial;
  record.session_id = info_.journal_id;
  record.decision_id = card.decision_id;
  record.content = CardContent{card.imsi, card.msisdn, {}, {}, card.spn, card.plmnsel,
                               card.config->profile.name, card.files};
  auto version = services_.record_modification(record);
  if (!version)
    return card_failed({error("card " + card.iccid + ": cannot record the modification: " + version.error().message)},
                       n - 1, "the modification could not be recorded (server error)", false, std::nullopt);
  return card_recorded({}, *version);
}

std::string PersoSession::step_name_of(const RunningCard& card, std::optional<std::size_t> step) {
  if (!step || *step >= card.step_labels.size()) return "unknown";
  return fmt::format("{}/{} {}", *step + 1, card.step_labels.size(), card.step_labels[*step]);
}

// What a new card holds after a result that went past step 1 or stopped there: the code that opened it
// while the script stopped before the issuer-code update, the pending code once past it, either when
// the update itself may or may not have happened (docs/personalisation.md §5, outcome table).
std::optional<CodeOnCard> PersoSession::code_after(const RunningCard& card, const perso::ScriptResult& result) {
  const bool by_alternative = card.has_alternative && perso::opened_by_alternative(result);
  const bool opened_by_pending = (card.opened_with == OpeningCode::Issuer) != by_alternative;
  const CodeOnCard opener = opened_by_pending ? CodeOnCard::Pending : CodeOnCard::Master;
  if (result.outcome == perso::ScriptOutcome::Completed) return CodeOnCard::Pending;
  if (result.outcome == perso::ScriptOutcome::Refused) return std::nullopt;
  const std::size_t step = result.failed_step;
  if (step == 0) return std::nullopt;  // stopped at VERIFY: the card holds what it held
  if (!card.issuer_code_step || step < *card.issuer_code_step) return opener;
  if (step > *card.issuer_code_step) return CodeOnCard::Pending;
  // The update itself: refused (the card kept the opener), or cut off with its fate unknown, which
  // only matters when the card did not already hold the pending code.
  if (result.outcome == perso::ScriptOutcome::UnexpectedStatus || opener == CodeOnCard::Pending) return opener;
  return CodeOnCard::Unknown;
}

PersoActions PersoSession::card_failed(PersoActions out, std::optional<std::size_t> step, const std::string& reason,
                                       bool code_refused, std::optional<CodeOnCard> code_on_card, bool nothing_written) {
  RunningCard card = std::move(*card_);
  card_.reset();
  CardFailure failure{step_name_of(card, step), reason, code_refused, code_on_card, nothing_written};
  auto marked = services_.mark_failed(card.iccid, failure);
  if (!marked)
    out.push_back(error("card " + card.iccid + ": cannot record the failure: " + marked.error().message));
  const std::string k = step ? std::to_string(*step + 1) : std::string("unknown");
  out.push_back(warn(fmt::format("card {} failed at step {}: {}{}", card.iccid, k, printable_text(reason, 300),
                                 marked ? fmt::format(" (card now {})", to_string(*marked)) : std::string())));
  done(out, PersoOutcome::Failed, card.iccid, "", printable_text(reason, proto::kMaxReasonText));
  ++cards_done_;
  state_ = State::AwaitCustomer;
  return out;
}

PersoActions PersoSession::card_recorded(PersoActions out, int version) {
  RunningCard card = std::move(*card_);
  card_.reset();
  const bool new_card = card.purpose == CardPurpose::NewCard;
  if (new_card)
    out.push_back(info(fmt::format("card {} personalised: msisdn {}", card.iccid, card.msisdn)));
  else
    out.push_back(info(fmt::format("card {} modified: record version {}", card.iccid, version)));
  done(out, new_card ? PersoOutcome::Personalised : PersoOutcome::Modified, card.iccid, card.msisdn, "");
  ReceiptData receipt{fmt::format("{}-{}", card.iccid, version), utc_timestamp(services_.now()), info_.retailer_serial,
                      card.iccid, card.msisdn, card.customer_name, new_card ? "personalised" : "modified", version};
  send_receipt(out, receipt);
  ++cards_done_;
  state_ = State::AwaitCustomer;
  return out;
}

void PersoSession::done(PersoActions& out, PersoOutcome outcome, const std::string& iccid, const std::string& msisdn,
                        const std::string& reason) {
  proto::DoneMsg p4{outcome, iccid, msisdn, reason};
  const Bytes body = p4.encode();
  out.push_back(SealMessage{Channel::SteAds, MessageType::Done, as_secret(body)});
  out.push_back(SealMessage{Channel::DtdAds, MessageType::Done, as_secret(body)});
}

// ---- the end ----------------------------------------------------------------------------------

PersoActions PersoSession::on_closed(std::string_view why) {
  PersoActions out;
  if (state_ == State::AwaitResult && card_) {
    RunningCard card = std::move(*card_);
    card_.reset();
    const std::string reason = "session ended before the script result: " + printable_text(why, 200);
    // The script may have run in full, in part or not at all.
    std::optional<CodeOnCard> on_card;
    if (card.purpose == CardPurpose::NewCard)
      on_card = card.opened_with == OpeningCode::Issuer && !card.has_alternative ? CodeOnCard::Pending : CodeOnCard::Unknown;
    // No result: nothing says the script reached the card, so the attempt is not held against it.
    auto marked = services_.mark_failed(card.iccid, CardFailure{"unknown", reason, false, on_card, false, false});
    if (!marked) out.push_back(error("card " + card.iccid + ": cannot record the failure: " + marked.error().message));
    out.push_back(warn(fmt::format("card {} failed at step unknown: {}", card.iccid, reason)));
  }
  approval_.reset();
  check_.reset();
  state_ = State::Ended;
  return out;
}

PersoActions PersoSession::end(PersoActions out, proto::ErrorCode code, std::string reason) {
  out.push_back(warn("personalisation ends the session: " + printable_text(reason, 300)));
  auto closed = on_closed(reason);
  for (auto& a : closed) out.push_back(std::move(a));
  out.push_back(EndSession{code, std::move(reason)});
  return out;
}

}  // namespace cardperso::ads
