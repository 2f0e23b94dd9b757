#include "cardperso/ste/customer_card.hpp"

#include <fmt/format.h>

#include "cardperso/card/apdu_builders.hpp"
#include "cardperso/card/card_key.hpp"
#include "cardperso/card/file_ids.hpp"
#include "cardperso/card/iccid.hpp"
#include "cardperso/card/status_words.hpp"

namespace cardperso::ste {

// ---- PC/SC ---------------------------------------------------------------------------------------

PcscCardSlot::PcscCardSlot(pcsc::PcscReader& reader, std::string reader_name)
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

void MemoryCardSlot::insert(card::TransmitFn card, Bytes atr, Power power_on) {
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

Result<void> select(const card::TransmitFn& transmit, std::uint16_t fid) {
  auto r = card::exchange_apdu(transmit, card::select_apdu(fid));
  if (!r) return r.error();
  if (r->sw == card::sw::kNotFound) return fail(fmt::format("the card has no file {:04X}; it is not a GSM SIM", fid));
  if (r->sw != card::sw::kOk) return fail(fmt::format("SELECT {:04X} answered {:04X}; is this a GSM SIM (class A0)?", fid, r->sw));
  return {};
}

}  // namespace

Result<std::string> read_iccid(const card::TransmitFn& transmit) {
  if (auto mf = select(transmit, card::kFidMf); !mf) return mf.error();
  if (auto ef = select(transmit, card::kFidIccid); !ef) return ef.error();
  auto r = card::exchange_apdu(transmit, card::read_binary_apdu(0, card::kEfIccidSize));
  if (!r) return r.error();
  if (r->sw != card::sw::kOk) return fail(fmt::format("reading the ICCID: the card answered {:04X}", r->sw));
  if (r->data.size() != card::kEfIccidSize)
    return fail(fmt::format("reading the ICCID: the card sent {} bytes, {} were asked for", r->data.size(),
                            card::kEfIccidSize));
  auto iccid = card::decode_iccid(r->data);
  if (!iccid) return fail("the card's ICCID is not valid: " + iccid.error().message);
  return iccid;
}

Result<Bytes> card_proof(const card::TransmitFn& transmit, ByteView challenge) {
  auto r = card::exchange_apdu(transmit, card::card_proof_apdu(challenge));
  if (!r) return r.error();
  if (r->sw != card::sw::kOk) return fail(fmt::format("CARD PROOF: the card answered {:04X}", r->sw));
  if (r->data.size() != card::kCardChallengeSize)
    return fail(fmt::format("CARD PROOF: the card sent {} bytes, 16 were expected", r->data.size()));
  return std::move(r->data);
}

}  // namespace cardperso::ste
