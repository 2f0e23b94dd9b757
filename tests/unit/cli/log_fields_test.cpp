// The session, retailer and ICCID a log message names in the programs' standard phrases.
#include <gtest/gtest.h>

#include "cardperso/common/log_fields.hpp"

namespace cardperso {
namespace {

struct Sample {
  const char* message;
  const char* session;
  const char* retailer;
  const char* iccid;
};

std::string or_none(const std::optional<std::string>& v) { return v.value_or("(none)"); }

TEST(LogFields, FromTheProgramsRealLines) {
  const char* none = "(none)";
  const std::vector<Sample> samples = {
      {"session 3401742587 established: retailer 700000000001", "3401742587", "700000000001", none},
      {"session 3401742587 relayed: retailer 8944100000000000017, DTD holds SK_D", "3401742587",
       "8944100000000000017", none},
      {"session 12 ended: completed", "12", none, none},
      {"session 12: card 8988211000000000011: script of 43 steps received", "12", none, "8988211000000000011"},
      {"card 8988211000000000011 personalised: msisdn 41790000001", none, none, "8988211000000000011"},
      {"card 8988211000000000011: confirmed on the keypad", none, none, "8988211000000000011"},
      {"customer card 8988211000000000011 in the reader", none, none, "8988211000000000011"},
      {"retailer card 8944100000000000017 in the reader, 3 PIN tries left", none, "8944100000000000017", none},
      {"retailer 8944100000000000017 locked after 5 failed authentications", none, "8944100000000000017", none},
      {"starting the handshake for retailer 8944100000000000017 (key version 1)", none, "8944100000000000017", none},
      {"frame for session 77 held back: queue full", "77", none, none},
      {"ads-server stopped: 3 sessions established, 0 refused, 0 retailer lockouts", none, none, none},
      {"card removed before APDU 5 (--remove-after-apdus)", none, none, none},
      {"card inserted (connected to vpcd at 127.0.0.1:35963)", none, none, none},
      {"session 12: retailer lookup failed: disk I/O error", "12", none, none},
      {"card 1234 refused: too short for an ICCID", none, none, none},
      {"subsession 5 and retailers 6 and card 89882110000000000111x", none, none, none},
      {"", none, none, none},
  };
  for (const auto& s : samples) {
    const LogFields f = log_fields(s.message);
    EXPECT_EQ(or_none(f.session), s.session) << s.message;
    EXPECT_EQ(or_none(f.retailer), s.retailer) << s.message;
    EXPECT_EQ(or_none(f.iccid), s.iccid) << s.message;
  }
}

}  // namespace
}  // namespace cardperso
