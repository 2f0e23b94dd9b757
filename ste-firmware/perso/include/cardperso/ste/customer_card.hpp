#pragma once
// The reader slot as the personalisation flow sees it: wait for the card to go or come, power it up
// (ATR), exchange APDUs. Two implementations: the PC/SC reader of the terminal, and an in-memory
// slot over any transmit function (a SimCard in the unit tests) whose card can be pulled out at a
// chosen APDU. The waits block; the STE program runs them from its single terminal coroutine.
#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>

#include "cardperso/common/bytes.hpp"
#include "cardperso/common/result.hpp"
#include "cardperso/card/t0_exchange.hpp"
#include "cardperso/pcsc/pcsc_reader.hpp"

namespace cardperso::ste {

class CardSlot {
 public:
  virtual ~CardSlot() = default;
  // true once the slot is empty / holds a card; false when the timeout passed first.
  virtual Result<bool> wait_absent(std::chrono::milliseconds timeout) = 0;
  virtual Result<bool> wait_present(std::chrono::milliseconds timeout) = 0;
  // Connects to (powers up) the card in the slot and returns its ATR.
  virtual Result<Bytes> connect() = 0;
  // One raw APDU to the connected card -> data || SW1 SW2.
  virtual Result<Bytes> transmit(ByteView command) = 0;
  // Forgets the connection (the card may stay in the slot).
  virtual void disconnect() = 0;
};

// The terminal's PC/SC reader. `reader` must outlive the slot.
class PcscCardSlot : public CardSlot {
 public:
  PcscCardSlot(pcsc::PcscReader& reader, std::string reader_name);
  Result<bool> wait_absent(std::chrono::milliseconds timeout) override;
  Result<bool> wait_present(std::chrono::milliseconds timeout) override;
  Result<Bytes> connect() override;
  Result<Bytes> transmit(ByteView command) override;
  void disconnect() override { card_.reset(); }

 private:
  pcsc::PcscReader& reader_;
  std::string name_;
  std::optional<pcsc::PcscCard> card_;
};

// In-memory slot for tests: insert()/remove() a card given as a transmit function and an ATR.
// remove_at(k) pulls the card out just before the k-th APDU (0-based, counted since insert()).
class MemoryCardSlot : public CardSlot {
 public:
  using Power = std::function<void()>;
  void insert(card::TransmitFn card, Bytes atr, Power power_on = {});
  void remove() { card_ = nullptr; connected_ = false; }
  void remove_at(std::size_t apdu_index) { remove_at_ = apdu_index; }
  // What a test pretends the retailer/customer does while the terminal waits.
  std::function<void()> on_wait_absent;
  std::function<void()> on_wait_present;

  Result<bool> wait_absent(std::chrono::milliseconds timeout) override;
  Result<bool> wait_present(std::chrono::milliseconds timeout) override;
  Result<Bytes> connect() override;
  Result<Bytes> transmit(ByteView command) override;
  void disconnect() override { connected_ = false; }

  bool present() const { return static_cast<bool>(card_); }
  std::size_t apdus_sent() const { return sent_; }
  std::size_t total_apdus() const { return total_; }

 private:
  card::TransmitFn card_;
  Bytes atr_;
  Power power_on_;
  bool connected_ = false;
  std::size_t sent_ = 0;
  std::size_t total_ = 0;
  std::optional<std::size_t> remove_at_;
};

// The card's ICCID: SELECT 3F00, SELECT 2FE2, READ BINARY 10 bytes, BCD decoded (18..20 digits).
Result<std::string> read_iccid(const card::TransmitFn& transmit);
// The card's answer to the ADS's 16-byte challenge (CARD PROOF, docs/cards.md §2.3): 16 bytes, or why not.
Result<Bytes> card_proof(const card::TransmitFn& transmit, ByteView challenge);

}  // namespace cardperso::ste
