#pragma once
// The identifiers a log message names in the programs' standard phrases, pulled out so a log
// collector can filter on them: "session 3401742587 established: retailer 700000000001",
// "card 8988211000000000011 personalised: ...", "retailer card 8944100000000000017 in the reader".
// Only digit strings that are already in the message are taken, so a field never carries anything
// the message does not (in particular no secret: messages hold serials, never codes or keys).
#include <optional>
#include <string>
#include <string_view>

namespace cardperso {

struct LogFields {
  std::optional<std::string> session;   // "session N"
  std::optional<std::string> retailer;  // "retailer N", "retailer card N"
  std::optional<std::string> iccid;     // "card N" with N 18 to 22 digits, not a retailer card
};

LogFields log_fields(std::string_view message);

}  // namespace cardperso
