#include "cardperso/testing/relayed_frame.hpp"

namespace cardperso::testing {

const char* name(Direction d) { return d == Direction::ToTarget ? "to target" : "to client"; }

void pass_through(const RelayedFrame& frame, RelayOutput& out) { out.forward(frame.bytes); }

}  // namespace cardperso::testing
