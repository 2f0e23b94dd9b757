#pragma once
// A fresh ADS database for one load run, made with adsctl exactly as an operator would: init, one
// retailer card enrolled per shop (its card image written and loaded back as an in-memory SimCard),
// and for personalisation a batch of blank SIMs per shop (one batch secret, ICCID range per shop)
// assigned to that shop's retailer, plus IMSI and MSISDN pools large enough for every card.
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "cardperso/common/result.hpp"
#include "cardperso/common/secret_bytes.hpp"

namespace cardperso::bench {

struct FixturePlan {
  std::string adsctl;
  std::string dir;                  // exists, empty
  std::string db;                   // where the ADS database goes: empty, DIR/ads.db (SQLite); or a
                                    // postgresql:// URL of an existing, empty database
  std::size_t retailers = 1;
  std::size_t shops = 1;            // shop i uses retailer i % retailers
  std::size_t blank_cards_per_shop = 0;  // 0: no batches or pools (handshake and idle modes)
  // Keep the batch secret in DIR/batch.secret (mode 0600) for a later run against servers started on
  // this database (cardperso-loadgen --setup-only, then --ads-address); otherwise it is removed.
  bool keep_batch_secret = false;
};

struct ShopCards {
  std::string retailer_serial;
  std::string retailer_pin;
  std::string retailer_image;  // card image path
  std::string iccid_prefix;    // blank SIMs: prefix || zero-padded serial || Luhn
  std::uint64_t first_serial = 0;
  std::size_t blank_cards = 0;
};

struct Fixture {
  std::string db_path;
  std::string key_path;
  SecretBytes batch_secret;  // 16 bytes; the blank SIMs' ADM1 codes derive from it
  std::string batch_secret_file;  // where it stays, with FixturePlan::keep_batch_secret
  std::vector<ShopCards> shops;
  double setup_seconds = 0;
};

// Runs adsctl (several hundred times for many shops: this is not timed).
Result<Fixture> make_fixture(const FixturePlan& plan);

// The ICCID adsctl assigns to `serial` in a batch with this prefix (18 digits + Luhn).
std::string batch_iccid(const std::string& prefix, std::uint64_t serial);

}  // namespace cardperso::bench
