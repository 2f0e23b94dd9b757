#pragma once
// `cardperso-mkcards show`: a card image as a readable tree, secrets left out.
#include <string>

#include "cardperso/cardsim/card_image.hpp"

namespace cardperso::cardsim {

std::string describe_image(const CardImage& image);

}  // namespace cardperso::cardsim
