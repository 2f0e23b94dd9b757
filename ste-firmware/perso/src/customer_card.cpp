#include "cardperso/ste/customer_card.hpp"

#include <fmt/format.h>

#include "cardperso/perso/sim_encoding.hpp"

namespace cardperso::ste {

// ---- PC/SC ---------------------------------------------------------------------------------------

PcscCardSlot::PcscCardSlot(reader::PcscReader& reader, std::string reader_name)
    : reader_(reader), name_(std::move(reader_name)) {}

Result<bool> PcscCardSlot::wait_absent(std::chrono::milliseconds timeout) {
  card_.reset();
  return reader_.wait_for_card_absent(name_, timeout);
}

Result<bool> PcscCardSlot::wait_present(std::chrono::milliseconds timeout) {
  return reader_.wait_for_card_present(name_, timeout);
}

Result<Bytes> PcscCardSlot::connect() {
  card_.reset();
  auto card = reader_.connect(name_);
  if (!card) return card.error();
  auto atr = card->atr();
  if (!atr) return atr.error();
  card_.emplace(std::move(*card));
  return atr;
}

Result<Bytes> PcscCardSlot::transmit(ByteView command) {
  if (!card_) return fail("no card connected in reader '" + name_ + "'; insert the card again");
  return card_->transmit(command);
}

// ---- in memory -----------------------------------------------------------------------------------

void MemoryCardSlot::insert(reader::TransmitFn card, Bytes atr, Power power_on) {
  card_ = std::move(card);
  atr_ = std::move(atr);
  power_on_ = std::move(power_on);
  connected_ = false;
  sent_ = 0;
}

Result<bool> MemoryCardSlot::wait_absent(std::chrono::milliseconds) {
  if (on_wait_absent) on_wait_absent();
  return !present();
}

Result<bool> MemoryCardSlot::wait_present(std::chrono::milliseconds) {
  if (on_wait_present) on_wait_present();
  return present();
}

Result<Bytes> MemoryCardSlot::connect() {
  if (!card_) return fail("no card in the reader; insert a card");
  if (power_on_) power_on_();
  connected_ = true;
  return atr_;
}

Result<Bytes> MemoryCardSlot::transmit(ByteView command) {
  if (remove_at_ && sent_ == *remove_at_) {
    remove_at_.reset();
    remove();
  }
  if (!card_) return fail("card removed from the reader");
  if (!connected_) return fail("no card connected; connect first");
  ++sent_;
  ++total_;
  return card_(command);
}

// ---- ICCID ---------------------------------------------------------------------------------------

namespace {

constexpr std::size_t kIccidFile = 10;

Result<void> select(const reader::TransmitFn& transmit, std::uint16_t fid) {
  const Bytes command{0xA0, 0xA4, 0x00, 0x00, 0x02, static_cast<std::uint8_t>(fid >> 8), static_cast<std::uint8_t>(fid)};
  auto r = reader::exchange_apdu(transmit, command);
  if (!r) return r.error();
  if (r->sw == 0x9404) return fail(fmt::format("the card has no file {:04X}; it is not a GSM SIM", fid));
  if (r->sw != 0x9000) return fail(fmt::format("SELECT {:04X} answered {:04X}; is this a GSM SIM (class A0)?", fid, r->sw));
  return {};
}

}  // namespace

Result<std::string> read_iccid(const reader::TransmitFn& transmit) {
  if (auto mf = select(transmit, 0x3F00); !mf) return mf.error();
  if (auto ef = select(transmit, 0x2FE2); !ef) return ef.error();
  auto r = reader::exchange_apdu(transmit, Bytes{0xA0, 0xB0, 0x00, 0x00, static_cast<std::uint8_t>(kIccidFile)});
  if (!r) return r.error();
  if (r->sw != 0x9000) return fail(fmt::format("reading the ICCID: the card answered {:04X}", r->sw));
  if (r->data.size() != kIccidFile)
    return fail(fmt::format("reading the ICCID: the card sent {} bytes, {} were asked for", r->data.size(), kIccidFile));
  auto iccid = perso::decode_iccid(r->data);
  if (!iccid) return fail("the card's ICCID is not valid: " + iccid.error().message);
  return iccid;
}

}  // namespace cardperso::ste
