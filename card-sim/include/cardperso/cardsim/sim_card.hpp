#pragma once
// A GSM 11.11 SIM (CLA A0) as a pure function of its state: APDU bytes in, response bytes out. No I/O;
// the vpcd link (card-sim program), the tests and the load generator all drive this same class.
#include <memory>

#include "cardperso/cardsim/card_image.hpp"
#include "cardperso/common/bytes.hpp"

namespace cardperso::cardsim {

class SimCard {
 public:
  explicit SimCard(CardImage image);
  ~SimCard();
  SimCard(SimCard&&) noexcept;
  SimCard& operator=(SimCard&&) noexcept;

  const Bytes& atr() const;
  // Power on or reset: security state cleared (no code verified), MF selected, no pending response.
  void power_on();
  void power_off();
  // One command APDU (header + optional data) -> response data || SW1 SW2. Malformed input gets a
  // status word, never an exception.
  Bytes transmit(ByteView command);

  const CardImage& image() const;
  // True when the last transmit changed the persistent state (files, tries left): save the image then.
  bool state_changed() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cardperso::cardsim
