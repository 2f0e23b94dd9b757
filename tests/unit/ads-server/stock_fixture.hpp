#pragma once
// A real ADS database in a temporary directory with two enrolled retailers, and the stock, pool and
// record stores on it, all on a test clock.
#include <optional>

#include "cardperso/common/bytes.hpp"

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

// The record a script would produce for `iccid` with these numbers: retailer A, a fixed Ki/OPc,
// issuer code and personal data.
inline PersonalisationRecord sample_record(const std::string& iccid, const CardRecords::Numbers& numbers,
                                           std::int64_t session_id) {
  PersonalisationRecord r;
  r.iccid = iccid;
  r.retailer_serial = kRetailerA;
  r.session_id = session_id;
  r.content.imsi = numbers.imsi;
  r.content.msisdn = numbers.msisdn;
  r.content.ki = SecretBytes(hex("465b5ce8b199b49faa5f0a2ee238a6bc"));
  r.content.opc = SecretBytes(hex("cd63cb71954a9f4e48a5994e37a02baf"));
  r.content.spn = "cardperso";
  r.content.plmnsel = "00f110ffffff";
  r.content.profile = "gsm-basic";
  r.content.files = {{"3F00/7F20/6F07", FileValue::Clear, "080910100000000010"},
                     {"3F00/7F20/FF02", FileValue::Ki, ""},
                     {"3F00/7F20/FF01", FileValue::Opc, ""},
                     {"3F00/000A", FileValue::IssuerCode, ""},
                     {"3F00/0000", FileValue::CustomerCode, ""}};
  r.issuer_code = SecretBytes(hex("a1a2a3a4a5a6a7a8"));
  r.personal_data_json = R"({"name":"Ada Lovelace","id_number":"X1234567"})";
  return r;
}

class StockTest : public DatabaseTest {
 protected:
  void SetUp() override {
    DatabaseTest::SetUp();
    make_stores();
    for (const auto& serial : {kRetailerA, kRetailerB}) {
      RetailerKeys k;
      k.k_ra = k.k_ia = k.k_s = k.k_d = SecretBytes(Bytes(16, 0x11));
      must(retailers->enrol(serial, k, Bytes(8, 0x22)));
    }
  }

  // What a restarted server has: a new connection (on PostgreSQL a new daemon identity; the old one
  // is gone with its connection) and new stores on it.
  void restart() {
    records.reset();
    pools.reset();
    stock.reset();
    retailers.reset();
    audit.reset();
    db.reset();
    db.emplace(must(open_ads_database(db_path, OpenMode::MustExist)));
    make_stores();
  }

  void make_stores() {
    audit.emplace(*db, key, clock());
    retailers.emplace(*db, key, *audit, "tester", LockoutPolicy{}, clock());
    stock.emplace(*db, key, *audit, "tester", clock());
    pools.emplace(*db, *audit, "tester", clock());
    records.emplace(*db, key, *audit, "tester", clock());
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
  // The card begun (NewCard) with fresh numbers, and the record its script would produce (fixed Ki/OPc).
  PersonalisationRecord begun(const std::string& iccid) {
    must(stock->begin_personalisation(iccid, CardPurpose::NewCard));
    return sample_record(iccid, must(records->reserve_numbers(iccid)), 42);
  }
  // A modification of the record's card by retailer A: the same content, keys unchanged (left empty).
  static ModificationRecord modification_of(const PersonalisationRecord& rec) {
    ModificationRecord mod;
    mod.iccid = rec.iccid;
    mod.retailer_serial = kRetailerA;
    mod.content = rec.content;
    mod.content.ki.wipe();
    mod.content.opc.wipe();
    return mod;
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
