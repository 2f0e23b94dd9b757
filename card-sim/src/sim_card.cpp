// APDU dispatch: class, instruction, and the length agreement between P3 and the data; the
// commands themselves are in gsm_commands_*.cpp.
#include "cardperso/cardsim/sim_card.hpp"

#include <exception>

#include "card_session.hpp"
#include "gsm_commands.hpp"
#include "cardperso/card/status_words.hpp"

namespace cardperso::cardsim {

namespace {

enum class Case { NoData, Outgoing, Incoming, Both };  // ISO 7816-3 cases 1, 2, 3, 4

struct Command {
  std::uint8_t ins;
  Case kind;
  Bytes (*run)(CardSession&, const Apdu&);
};

Bytes sleep_command(CardSession&, const Apdu&) { return card::sw::status(card::sw::kOk); }

constexpr Command kCommands[] = {
    {0xA4, Case::Both, cmd::select},
    {0xF2, Case::Outgoing, cmd::status},
    {0xC0, Case::Outgoing, cmd::get_response},
    {0xB0, Case::Outgoing, cmd::read_binary},
    {0xD6, Case::Incoming, cmd::update_binary},
    {0xB2, Case::Outgoing, cmd::read_record},
    {0xDC, Case::Incoming, cmd::update_record},
    {0x04, Case::NoData, cmd::invalidate},
    {0x44, Case::NoData, cmd::rehabilitate},
    {0x20, Case::Incoming, cmd::verify_chv},
    {0x24, Case::Incoming, cmd::change_chv},
    {0x26, Case::Incoming, cmd::disable_chv},
    {0x28, Case::Incoming, cmd::enable_chv},
    {0x2C, Case::Incoming, cmd::unblock_chv},
    {0xE0, Case::Incoming, cmd::create_file},
    {0x88, Case::Both, cmd::run_gsm_algorithm},
    {0x8A, Case::Both, cmd::retailer_cryptogram},
    {0x8C, Case::Incoming, cmd::check_issuer},
    {0x8E, Case::Both, cmd::session_key_input},
    {0x86, Case::Both, cmd::card_proof},
    {0xFA, Case::NoData, sleep_command},
};

constexpr std::uint8_t kGsmClass = 0xA0;

Bytes dispatch(CardSession& s, ByteView raw) {
  if (raw.empty()) return card::sw::status(card::sw::kWrongP3);
  if (raw[0] != kGsmClass) return card::sw::status(card::sw::kWrongClass);
  if (raw.size() < 4) return card::sw::status(card::sw::kWrongP3);
  Apdu a;
  a.cla = raw[0];
  a.ins = raw[1];
  a.p1 = raw[2];
  a.p2 = raw[3];
  a.p3 = raw.size() >= 5 ? raw[4] : 0;
  ByteView body = raw.size() > 5 ? raw.subspan(5) : ByteView{};

  const Command* c = nullptr;
  for (const auto& k : kCommands)
    if (k.ins == a.ins) c = &k;
  if (!c) return card::sw::status(card::sw::kUnknownIns);

  // T=0 has one length byte: data the card sends (case 2) or receives (case 3/4). A case 4 command
  // may carry a trailing Le byte from stacks that build ISO APDUs; it is ignored.
  switch (c->kind) {
    case Case::NoData:
      if (a.p3 != 0 || !body.empty()) return card::sw::status(card::sw::kWrongP3);
      break;
    case Case::Outgoing:
      if (!body.empty()) return card::sw::status(card::sw::kWrongP3);
      break;
    case Case::Incoming:
      if (body.size() != a.p3) return card::sw::status(card::sw::kWrongP3);
      break;
    case Case::Both:
      if (body.size() == std::size_t{a.p3} + 1) body = body.first(a.p3);
      if (body.size() != a.p3) return card::sw::status(card::sw::kWrongP3);
      break;
  }
  a.data = body;
  if (a.ins != 0xC0) s.pending.clear();  // response data lives only until the next command
  return c->run(s, a);
}

}  // namespace

struct SimCard::Impl {
  CardSession session;
};

SimCard::SimCard(CardImage image) : impl_(std::make_unique<Impl>()) {
  impl_->session.image = std::move(image);
  impl_->session.reset();
}
SimCard::~SimCard() = default;
SimCard::SimCard(SimCard&&) noexcept = default;
SimCard& SimCard::operator=(SimCard&&) noexcept = default;

const Bytes& SimCard::atr() const { return impl_->session.image.atr; }

void SimCard::power_on() {
  impl_->session.reset();
  impl_->session.changed = false;
}

void SimCard::power_off() {
  impl_->session.reset();
  impl_->session.changed = false;
}

Bytes SimCard::transmit(ByteView command) {
  auto& s = impl_->session;
  s.changed = false;
  try {
    return dispatch(s, command);
  } catch (const std::exception&) {
    // Only an allocation failure can land here; a card answers it as a technical problem.
    return card::sw::status(card::sw::kTechnical);
  }
}

const CardImage& SimCard::image() const { return impl_->session.image; }
bool SimCard::state_changed() const { return impl_->session.changed; }

}  // namespace cardperso::cardsim
