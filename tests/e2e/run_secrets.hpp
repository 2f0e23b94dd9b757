#pragma once
// Every secret an end-to-end run used, gathered at teardown for the secret scan (secret_scan.hpp):
//  - the ADS master key (the key file);
//  - every sealed column of the ADS database, unsealed with the store's own open_column: retailer
//    keys (K_RA, K_IA, K_S, K_D) and issuer codes, batch secrets, CSV master codes, card issuer codes,
//    Ki/OPc of every card record version; and the master code derived for every card of a secret batch;
//  - every batch secret file (*.secret) and, with each, the master code of every card image's ICCID;
//  - every card image in the run directory (the retailer card, the customer cards as they ended):
//    the code files (CHV1/UNBLOCK1/CHV2/UNBLOCK2 as digits, ADM1), the retailer key file, Ki and OPc;
//  - every keypad script line (retailer PIN, customer PIN and PUK, wrong PINs typed on purpose) and
//    every PIN file given to cardperso-simread (pin-*.txt).
// The same walk lists the files that hold secrets by design and are not scanned: the database and
// its WAL, the master key file, the batch secret files, the card images, retailer key-set files
// (JSON with "k_ra", input of `cardperso-mkcards retailer`), keypad scripts and PIN files, and an
// osmo-hlr database (hlr.db*), which holds K and OPc by design.
#include <set>
#include <string>
#include <vector>

#include "secret_scan.hpp"

namespace cardperso::e2e {

struct RunSecrets {
  SecretScanner scanner;
  std::set<std::string> secret_stores;  // paths relative to the run directory
  std::vector<std::string> problems;    // what could not be read (the test fails on these)
  std::size_t sealed_columns = 0;       // sealed values opened from the database
  std::size_t card_images = 0;
};

// dir: the run's directory; db and master_key: the ADS database and key file (inside dir or not).
RunSecrets collect_run_secrets(const std::string& dir, const std::string& db, const std::string& master_key);

}  // namespace cardperso::e2e
