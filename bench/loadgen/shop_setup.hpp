#pragma once
// What one simulated shop starts with: its retailer card and the blank cards in its drawer. Shared
// by the load generator and the crash stream (tests/crash).
#include <cstdint>
#include <string>

#include "cardperso/cardsim/card_image.hpp"

namespace cardperso::bench {

struct ShopSetup {
  cardsim::CardImage retailer_card;
  std::string retailer_pin;
  std::string iccid_prefix;
  std::uint64_t first_serial = 0;
  std::size_t blank_cards = 0;
};

}  // namespace cardperso::bench
