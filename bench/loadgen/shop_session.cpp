#include "shop_session.hpp"

#include <fmt/format.h>

#include "cardperso/proto/perso_messages.hpp"
#include "cardperso/card/t0_exchange.hpp"
#include "cardperso/ste/card_retailer_secrets.hpp"
#include "cardperso/ste/customer_card.hpp"
#include "cardperso/ste/display.hpp"
#include "cardperso/ste/keypad.hpp"
#include "cardperso/ste/perso_flow.hpp"
#include "cardperso/ste/retailer_card.hpp"

namespace cardperso::bench {
namespace {

using proto::MessageType;

// The clerk presses OK, the customer types the same PIN twice and the PUK printed on the card carrier.
class FixedKeypad : public ste::Keypad {
 public:
  Result<SecretBytes> read_digits(std::string_view, std::size_t min_digits, std::size_t max_digits) override {
    const std::string_view digits = min_digits >= 8 ? std::string_view("87654321") : std::string_view("2468");
    if (digits.size() < min_digits || digits.size() > max_digits) return fail("no fixed entry fits this prompt");
    return SecretBytes(ByteView(reinterpret_cast<const std::uint8_t*>(digits.data()), digits.size()));
  }
  Result<bool> confirm(std::string_view) override { return true; }
};

// Nobody reads the terminal's screen in a load test.
class NullDisplay : public ste::Display {
 public:
  void show(std::string_view) override {}
};

std::string close_text(const proto::Close& c) {
  return fmt::format("{} ({})", c.reason.empty() ? "closed" : c.reason, proto::describe(c.code));
}

}  // namespace

// The STE's card reader and keypad: the blank SIM is "inserted" when the flow waits for one.
struct ShopSession::Terminal {
  explicit Terminal(BlankCardSource source) : blanks(std::move(source)), flow(slot, keypad, display, options()) {
    slot.on_wait_absent = [this] { slot.remove(); };
    slot.on_wait_present = [this] { insert_next(); };
  }
  ~Terminal() {
    if (card && keeper) keeper(std::move(*card));
  }
  Terminal(const Terminal&) = delete;
  Terminal& operator=(const Terminal&) = delete;
  static ste::PersoFlowOptions options() {
    ste::PersoFlowOptions o;
    o.retailer_card_in_reader = false;
    return o;
  }
  void insert_next() {
    if (card && keeper) keeper(std::move(*card));
    card = blanks();
    if (!card) return;  // the flow then ends the session: no card inserted
    cardsim::SimCard* c = &*card;
    slot.insert([c](ByteView command) -> Result<Bytes> { return c->transmit(command); }, c->atr(),
                [c] { c->power_on(); });
  }

  BlankCardSource blanks;
  CardKeeper keeper;
  std::optional<cardsim::SimCard> card;
  ste::MemoryCardSlot slot;
  FixedKeypad keypad;
  NullDisplay display;
  ste::CustomerCardFlow flow;
};

ShopSession::ShopSession(SessionPlan plan, cardsim::SimCard& retailer_card, proto::DtdRelay& dtd,
                         BlankCardSource blanks)
    : plan_(std::move(plan)), retailer_card_(retailer_card), dtd_(dtd), cores_(ste_, dtd_, counter_hooks()) {
  if (plan_.cards > 0) terminal_ = std::make_unique<Terminal>(std::move(blanks));
}

ShopSession::~ShopSession() = default;

void ShopSession::keep_cards(CardKeeper keeper) {
  if (terminal_) terminal_->keeper = std::move(keeper);
}

std::size_t ShopSession::apdus_to_customer_cards() const { return terminal_ ? terminal_->slot.total_apdus() : 0; }

void ShopSession::fail_with(std::string kind, std::string detail) {
  if (error_) return;
  error_kind_ = kind;
  error_ = kind + ": " + detail;
}

void ShopSession::start(proto::TimePoint now) {
  now_ = now;
  retailer_card_.power_on();
  const card::TransmitFn transmit = [this](ByteView c) -> Result<Bytes> { return retailer_card_.transmit(c); };
  auto serial = ste::read_serial(transmit);
  if (!serial) return fail_with("retailer-card", serial.error().message);
  const SecretBytes pin(
      ByteView(reinterpret_cast<const std::uint8_t*>(plan_.retailer_pin.data()), plan_.retailer_pin.size()));
  auto checked = ste::verify_pin(transmit, pin);
  if (!checked) return fail_with("retailer-card", checked.error().message);
  if (!std::holds_alternative<ste::PinAccepted>(*checked)) return fail_with("retailer-card", "the PIN was refused");
  auto key_version = ste::read_key_version(transmit);
  if (!key_version) return fail_with("retailer-card", key_version.error().message);
  // The virtual retailer card computes the handshake's values itself, as a real one does.
  cores_.from_ste(ste_.start(*serial, *key_version, std::make_unique<ste::CardRetailerSecrets>(transmit), now));
  advance();
}

void ShopSession::on_ads_frame(proto::Frame frame, proto::TimePoint now) {
  if (finished()) return;
  now_ = now;
  cores_.from_ads(std::move(frame));
  advance();
}

cardperso::testing::CounterHooks ShopSession::counter_hooks() {
  cardperso::testing::CounterHooks h;
  h.to_ads = [this](proto::Frame f) { out_.push_back(std::move(f)); };
  h.now = [this] { return now_; };
  h.on_action = [this](proto::Peer from, proto::Action& action) { on_action(from, action); };
  return h;
}

void ShopSession::on_action(proto::Peer from, proto::Action& action) {
  const bool ste = from == proto::Peer::Ste;
  if (std::get_if<proto::SessionEstablished>(&action)) {
    (ste ? ste_up_ : dtd_up_) = true;
  } else if (auto* got = std::get_if<proto::Deliver>(&action)) {
    ste ? on_ste_deliver(*got) : on_dtd_deliver(*got);
  } else if (auto* link = std::get_if<proto::LinkMessage>(&action); link && !ste) {  // the DTD's ADS link
    const auto type = proto::to_message_type(link->frame.header.type);
    if (type == MessageType::Error) {
      auto err = proto::ErrorMessage::decode(link->frame.payload);
      fail_with("ads-error", err ? fmt::format("{} ({})", err->text, proto::describe(err->code)) : "malformed Error");
    }
  } else if (auto* close = std::get_if<proto::Close>(&action)) {
    if (ste) {
      ste_closed_ = true;
      if (close->code != proto::ErrorCode::None || !terminate_sent_) fail_with("ste-closed", close_text(*close));
    } else if (close->code != proto::ErrorCode::None) {
      fail_with("dtd-closed", close_text(*close));
    }
  }
}

void ShopSession::on_ste_deliver(const proto::Deliver& d) {
  if (!terminal_) return fail_with("unexpected", fmt::format("{} reached the STE in handshake mode", proto::name(d.type)));
  auto step = terminal_->flow.on_message(d.type, d.plaintext.view());
  for (auto& m : step.send) cores_.from_ste(ste_.send(m.type, m.plaintext.view(), now_));
  if (step.end) fail_with("terminal", step.refusal + ": " + step.detail);
}

void ShopSession::on_dtd_deliver(const proto::Deliver& d) {
  switch (d.type) {
    case MessageType::Decision: {
      auto decision = proto::DecisionMsg::decode(d.plaintext.view());
      if (!decision) return fail_with("bad-message", "C2: " + decision.error().message);
      if (!decision->go) return fail_with("no-go", decision->reasons);
      card_decision_ = true;
      return;
    }
    case MessageType::Done: {
      auto done = proto::DoneMsg::decode(d.plaintext.view());
      if (!done) return fail_with("bad-message", "P4: " + done.error().message);
      if (done->outcome != proto::PersoOutcome::Personalised)
        return fail_with("card-failed", done->iccid + ": " + done->reason);
      card_done_ = true;
      return;
    }
    case MessageType::Receipt: {
      auto receipt = proto::ReceiptMsg::decode(d.plaintext.view());
      if (!receipt) return fail_with("bad-message", "Receipt: " + receipt.error().message);
      card_receipt_ = true;
      return;
    }
    default:
      return fail_with("unexpected", fmt::format("{} reached the DTD", proto::name(d.type)));
  }
}

void ShopSession::send_customer_details() {
  proto::CustomerDetailsMsg c1;
  c1.kind = proto::RequestKind::NewCard;
  c1.json = fmt::format(
      R"({{"name":"Load Customer {0}-{1}","date_of_birth":"1980-02-29","address":"{1} Test Street, Testtown",)"
      R"("id_document":"passport","id_number":"LG{0}X{1}"}})",
      plan_.customer_tag, cards_started_ + 1);
  ++cards_started_;
  card_open_ = true;
  card_decision_ = card_done_ = card_receipt_ = false;
  card_times_.push_back({now_, now_});
  cores_.from_dtd(dtd_.send(MessageType::CustomerDetails, c1.encode()));
}

void ShopSession::advance() {
  if (failed() || finished_) return;
  if (terminate_sent_) {
    if (ste_closed_) finished_ = true;
    return;
  }
  if (!ste_up_ || !dtd_up_) return;
  if (!established_at_) established_at_ = now_;
  if (card_open_) {
    // The STE has seen its P4 once its flow waits for the next decision again.
    if (!(card_decision_ && card_done_ && card_receipt_ && terminal_->flow.idle())) return;
    card_open_ = false;
    ++cards_done_;
    card_times_.back().second = now_;
  }
  if (cards_started_ < plan_.cards) return send_customer_details();
  terminate_sent_ = true;
  cores_.from_dtd(dtd_.terminate());
}

}  // namespace cardperso::bench
