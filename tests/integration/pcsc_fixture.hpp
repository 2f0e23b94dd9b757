#pragma once
// Integration fixture: runs inside tests/tools/pcsc-sandbox (a private pcscd with the vpcd driver),
// writes card images made with the card builders to a temp dir, starts card-sim processes on
// them, and talks to the cards through the real PC/SC API via cardperso_pcsc and the card layer.
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cardperso/testing/card_sim_process.hpp"
#include "cardperso/cardsim/card_image.hpp"
#include "cardperso/card/t0_exchange.hpp"
#include "cardperso/pcsc/pcsc_reader.hpp"

namespace cardperso::testing {

inline const std::string kReader0 = "Virtual PCD 00 00";  // vpcd port 35963
inline const std::string kReader1 = "Virtual PCD 00 01";  // vpcd port 35964

class PcscFixture : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Saves image to <tmp>/<name>.json and returns the path.
  std::string write_image(const cardsim::CardImage& image, const std::string& name);
  // Starts card-sim on the image in reader slot 0 or 1, waits for "inserted" and for pcscd to
  // report the card present. Fails the test (returns nullptr) otherwise.
  CardSimProcess* start_card(const std::string& image_path, int slot = 0, std::vector<std::string> extra_args = {});
  cardperso::pcsc::PcscReader& pcsc() { return *pcsc_; }
  std::optional<cardperso::pcsc::PcscCard> connect(const std::string& reader_name = kReader0);
  // card-sim remove, then insert, in reader slot 0, each seen by pcscd: power-on clears whatever
  // was verified. Connections made before are gone.
  void power_cycle(CardSimProcess* sim);
  // exchange_apdu with the T=0 completion; a transport error fails the test and returns SW 0000.
  cardperso::card::ApduResponse run(cardperso::pcsc::PcscCard& card, const std::string& apdu_hex);
  // The retailer card's compute commands (docs/cards.md §2.2) checked against the keys of a key file
  // (key_version || K_RA || K_IA || K_S || K_D), with OpenSSL's AES as the reference. CHV1 must be
  // verified; leaves DF 7F50 selected.
  void expect_card_computes_with(cardperso::pcsc::PcscCard& card, const Bytes& key_file);

  // Where the next card-sim's stderr goes: "" (default) = the test's stderr; the e2e fixtures set
  // card_stderr_dir_ so their secret scan reads it (<dir>/card-sim-<n>.stderr).
  std::string next_card_stderr_path();
  std::string card_stderr_dir_;

  std::string dir_;
  std::optional<cardperso::pcsc::PcscReader> pcsc_;
  std::vector<std::unique_ptr<CardSimProcess>> sims_;
};

}  // namespace cardperso::testing
