#pragma once
// The card's state between APDUs: the persistent image plus what a power cycle forgets
// (selection, record pointer, pending response, verified codes).
#include <cstdint>
#include <string>

#include "access_control.hpp"
#include "cardperso/cardsim/card_image.hpp"
#include "cardperso/common/bytes.hpp"

namespace cardperso::cardsim {

struct Apdu {
  std::uint8_t cla = 0, ins = 0, p1 = 0, p2 = 0, p3 = 0;
  ByteView data;
};

struct CardSession {
  CardImage image;
  std::string current_df = "3F00";
  std::string current_ef;    // empty: no EF selected
  std::size_t record = 0;    // current record number, 0: none
  Bytes pending;             // data waiting for GET RESPONSE
  SecurityState security;
  bool changed = false;      // the last APDU changed the image

  void mark_changed() {
    if (!changed) ++image.generation;
    changed = true;
  }
  void reset() {
    current_df = "3F00";
    current_ef.clear();
    record = 0;
    pending.clear();
    security.clear();
  }
};

}  // namespace cardperso::cardsim
