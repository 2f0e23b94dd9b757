#pragma once
// What must hold of the ADS database and of the cards after the crash stream (crash_stream.hpp):
// the file is sound, the audit chain intact, every card in a state that matches what is on it, and
// every IMSI/MSISDN accounted for exactly once.
#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "crash_stream.hpp"

namespace cardperso::crash {

struct StoreCheck {
  std::vector<std::string> problems;  // each a broken expectation, readable; empty = all good
  std::map<std::string, std::size_t> card_states;  // state -> cards of the test's stock
  std::map<std::string, std::size_t> retried_states;  // the same for the cards inserted a second time
  std::size_t personalised_checked = 0;  // personalised cards whose content and RUN GSM were checked
  struct Pool {
    std::string kind;
    long long size = 0, committed = 0, reserved = 0, released = 0, retired = 0, never_used = 0;
  };
  std::vector<Pool> pools;
  // Cards the ADS holds as failed/spoiled that nonetheless carry an IMSI (the script ran, at least in
  // part, before the kill), and how many of those IMSIs were since given to a personalised card
  // (required 0: a failed card keeps its numbers reserved, a spoiled one has them retired).
  std::size_t unrecorded_cards_with_imsi = 0;
  std::size_t unrecorded_imsi_reused = 0;
  // Read from every card inserted, whatever its state: numbers physically on the cards.
  std::size_t numbers_on_cards = 0;       // IMSIs + MSISDNs found
  std::size_t numbers_on_two_cards = 0;   // required 0
  std::size_t numbers_on_spoiled_cards = 0, retired_numbers = 0;  // required equal
};

struct StorePaths {
  std::string db, master_key, adsctl;
};

StoreCheck check_store(const StorePaths& paths, const StreamReport& stream);

}  // namespace cardperso::crash
