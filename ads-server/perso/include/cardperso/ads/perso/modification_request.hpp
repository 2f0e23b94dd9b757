#pragma once
// The C1 body of a modification (proto/perso_messages.hpp, RequestKind::Modification):
//   {"iccid": "8988211000000000011", "changes": {"spn": "New name", "plmnsel": ["001/01", "29510"],
//                                                "msisdn": "new"}}
// "msisdn": "new" gives the card a fresh number from the pool (the old one goes back to it); a shop
// cannot name the number, so it cannot move someone else's to a card it holds.
// Parsed strictly: unknown keys refused, at least one change, each change checked against the card
// profile (an SPN the file cannot hold, a PLMN list longer than EF_PLMNsel) so the decision already
// says what is wrong.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cardperso/common/result.hpp"
#include "cardperso/perso/card_profile.hpp"
#include "cardperso/perso/sim_encoding.hpp"

namespace cardperso::ads {

struct ModificationRequest {
  std::string iccid;
  std::optional<std::string> spn;
  std::optional<std::vector<perso::Plmn>> plmns;
  bool new_msisdn = false;
};

Result<ModificationRequest> parse_modification_request(std::string_view json, const perso::CardProfile& profile);

}  // namespace cardperso::ads
