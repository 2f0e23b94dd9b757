#pragma once
// A real ADS database in a temporary directory with two enrolled retailers, and the stock, pool and
// record stores on it, all on a test clock.
#include <optional>

#include "cardperso/ads/store/audit_log.hpp"
#include "cardperso/ads/store/card_codes.hpp"
#include "cardperso/ads/store/card_records.hpp"
#include "cardperso/ads/store/card_stock.hpp"
#include "cardperso/ads/store/migrations.hpp"
#include "cardperso/ads/store/number_pools.hpp"
#include "cardperso/ads/store/retailer_store.hpp"
#include "database_fixture.hpp"

namespace cardperso::ads::test {

inline const std::string kRetailerA = "8949000000000000001";
inline const std::string kRetailerB = "8949000000000000002";
inline const Bytes kBatchSecret = hex("000102030405060708090a0b0c0d0e0f");

class StockTest : public DatabaseTest {
 protected:
  void SetUp() override {
    DatabaseTest::SetUp();
    audit.emplace(*db, key, clock());
    retailers.emplace(*db, key, *audit, "tester", LockoutPolicy{}, clock());
    stock.emplace(*db, key, *audit, "tester", clock());
    pools.emplace(*db, *audit, "tester", clock());
    records.emplace(*db, key, *audit, "tester", clock());
    for (const auto& serial : {kRetailerA, kRetailerB}) {
      RetailerKeys k;
      k.k_ra = k.k_ia = k.k_s = k.k_d = SecretBytes(Bytes(16, 0x11));
      must(retailers->enrol(serial, k, Bytes(8, 0x22)));
    }
  }

  // Batch "B1": 8988211 000...0001 .. 0005 (19-digit ICCIDs), assigned to retailer A.
  std::vector<std::string> secret_batch_for_a(std::uint64_t count = 5) {
    must(stock->import_secret_batch("B1", kBatchSecret, "8988211", 1, count));
    must(stock->assign_batch("B1", kRetailerA));
    std::vector<std::string> out;
    for (std::uint64_t i = 1; i <= count; ++i) out.push_back(must(batch_iccid("8988211", i)));
    return out;
  }
  void add_pools(const std::string& imsi_last = "0000009999", const std::string& msisdn_last = "9999") {
    must(pools->add_pool(NumberKind::Imsi, "00101", "0000000001", imsi_last));
    must(pools->add_pool(NumberKind::Msisdn, "4477009", "0001", msisdn_last));
  }
  CardState state_of(const std::string& iccid) {
    auto c = must(stock->find_card(iccid));
    if (!c) throw std::runtime_error("no card " + iccid);
    return c->state;
  }

  std::optional<AuditLog> audit;
  std::optional<RetailerStore> retailers;
  std::optional<CardStock> stock;
  std::optional<NumberPools> pools;
  std::optional<CardRecords> records;
};

}  // namespace cardperso::ads::test
