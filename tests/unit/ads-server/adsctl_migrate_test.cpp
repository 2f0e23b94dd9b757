// adsctl migrate as the issuer runs it: a real SQLite ADS filled through the store classes, copied by
// the adsctl process into a fresh database of the throwaway PostgreSQL cluster (CARDPERSO_TEST_PG), then
// read back through the same store classes on PostgreSQL.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>

#include "cardperso/ads/store/audit_log.hpp"
#include "cardperso/ads/store/card_codes.hpp"
#include "cardperso/ads/store/card_records.hpp"
#include "cardperso/ads/store/card_stock.hpp"
#include "cardperso/ads/store/database_copy.hpp"
#include "cardperso/ads/store/key_check.hpp"
#include "cardperso/ads/store/migrations.hpp"
#include "cardperso/ads/store/number_pools.hpp"
#include "cardperso/ads/store/retailer_store.hpp"
#include "cardperso/ads/store/session_store.hpp"
#include "cardperso/ads/store/terminal_store.hpp"
#include "cardperso/testing/run_program.hpp"
#include "pg_test_database.hpp"
#include "stock_fixture.hpp"
#include "test_support.hpp"

namespace cardperso::ads {
namespace {

using test::must;

using test::kBatchSecret;
using test::kRetailerA;
using test::kRetailerB;
const std::string kKi = "465b5ce8b199b49faa5f0a2ee238a6bc";  // test::sample_record's
const std::string kPassword = "s3cret-Pw-never-shown";

// The tables every ADS of this version has; the copy must include each of them.
const std::vector<std::string> kSchemaTables = {
    "ads_meta", "retailers", "sessions", "audit_log", "card_batches", "cards", "number_pools",
    "number_allocations", "subscribers", "decisions", "card_records", "terminals", "hlr_jobs"};

// The stores of one ADS database, on the test clock.
struct Stores {
  Stores(Database& db, const MasterKey& key, Clock clock)
      : audit(db, key, clock),
        retailers(db, key, audit, "tester", LockoutPolicy{}, clock),
        stock(db, key, audit, "tester", clock),
        pools(db, audit, "tester", clock),
        records(db, key, audit, "tester", clock),
        terminals(db, audit, "tester", clock),
        sessions(db, clock) {}
  AuditLog audit;
  RetailerStore retailers;
  CardStock stock;
  NumberPools pools;
  CardRecords records;
  TerminalStore terminals;
  SessionStore sessions;
};

std::int64_t count_of(Database& db, const std::string& table) {
  return must(db.read_row("SELECT count(*) FROM " + table, "test: count",
                          [](const Statement& s) { return s.column_int(0); }))
      .value_or(-1);
}

// How many tables the target's public schema holds: 0 for a database migrate has not touched.
std::int64_t tables_in(const std::string& url) {
  auto db = must(Database::open(url, OpenMode::CreateNew));
  return count_of(db, "information_schema.tables WHERE table_schema = 'public'");
}

class AdsctlMigrateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (test::postgres_base_url().empty()) {
      GTEST_FAIL() << "CARDPERSO_TEST_PG is not set: run this test through ctest (fixture cardperso_pg_cluster)";
    }
    target.emplace(test::postgres_base_url());
    auto made = adsctl({"init", "--db=" + source_path, "--master-key=" + key_path});
    ASSERT_EQ(made.exit_code, 0) << made.err;
    fill_source();
  }

  cardperso::testing::CommandRun adsctl(const std::vector<std::string>& args) {
    auto r = cardperso::testing::run_command(ADSCTL_PATH, args, dir.file("stderr"));
    all_output += r.out + r.err;
    return r;
  }
  cardperso::testing::CommandRun migrate(const std::string& to, const std::string& key_file) {
    return adsctl({"migrate", "--from", "sqlite:" + source_path, "--to", to, "--master-key=" + key_file});
  }
  cardperso::testing::CommandRun migrate() { return migrate(target_url_with_password(), key_path); }

  // The test database's URL with a password in it (the cluster trusts the socket, so it is not
  // checked): postgresql:///NAME?host=...  ->  postgresql://postgres:PASSWORD@/NAME?host=...
  std::string target_url_with_password() const {
    const std::string& url = target->url();
    const auto rest = url.find(":///");
    return url.substr(0, rest) + "://postgres:" + kPassword + "@/" + url.substr(rest + 4);
  }

  Clock clock() {
    return [this] { return now; };
  }

  // Real content through the store classes: two retailers, a terminal, a secret batch, pools, a
  // session, a decision and a personalised card with its record, subscriber and HLR job.
  void fill_source() {
    auto key = must(MasterKey::load_file(key_path));
    auto db = must(open_ads_database(source_path, OpenMode::MustExist));
    Stores s(db, key, clock());
    for (const auto& serial : {kRetailerA, kRetailerB}) {
      RetailerKeys k;
      k.k_ra = k.k_ia = k.k_s = k.k_d = SecretBytes(Bytes(16, serial == kRetailerA ? 0x11 : 0x33));
      must(s.retailers.enrol(serial, k, Bytes(8, 0x22)));
    }
    DevicePublicKey device{};
    device.fill(0x5a);
    must(s.terminals.enrol(device, kRetailerA, "shop counter"));
    must(s.stock.import_secret_batch("B1", kBatchSecret, "8988211", 1, 5));
    must(s.stock.assign_batch("B1", kRetailerA));
    must(s.pools.add_pool(NumberKind::Imsi, "00101", "0000000001", "0000009999"));
    must(s.pools.add_pool(NumberKind::Msisdn, "4477009", "0001", "9999"));
    for (std::uint64_t i = 1; i <= 5; ++i) iccids.push_back(must(batch_iccid("8988211", i)));
    const auto session = must(s.sessions.open(kRetailerA, "192.0.2.7:4000"));
    must(s.sessions.close(session, SessionOutcome::Completed, ""));
    must(s.sessions.open(kRetailerB, "192.0.2.8:4000"));  // still open: ended_at and outcome NULL
    must(s.records.record_decision(kRetailerA, session, true, {}));
    must(s.records.record_personalisation(personalisation(s, iccids[0], session)));
    source_entries = must(AuditLog(db, key).verify()).entries_checked;
  }

  // A NewCard personalisation of `iccid` with fresh numbers and a fixed Ki/OPc.
  static PersonalisationRecord personalisation(Stores& s, const std::string& iccid, std::int64_t session) {
    must(s.stock.begin_personalisation(iccid, CardPurpose::NewCard));
    return test::sample_record(iccid, must(s.records.reserve_numbers(iccid)), session);
  }

  // The target is untouched: no table at all in it.
  void expect_target_untouched() { EXPECT_EQ(tables_in(target->url()), 0) << "the target was written to"; }

  test::TempDir dir;
  std::optional<test::PgTestDatabase> target;
  std::string source_path = dir.file("ads.db");
  std::string key_path = dir.file("ads-master.key");
  Seconds now = from_unix(1700000000);
  std::vector<std::string> iccids;
  std::int64_t source_entries = 0;
  std::string all_output;
};

TEST_F(AdsctlMigrateTest, CopiesEveryTableAndThePostgresCopyWorks) {
  auto r = migrate();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("audit chain: intact (" + std::to_string(source_entries) + " entries)"), std::string::npos)
      << r.out;

  auto key = must(MasterKey::load_file(key_path));
  auto source = must(Database::open(source_path, OpenMode::MustExist));
  auto db = must(open_ads_database(target->url(), OpenMode::MustExist));
  EXPECT_EQ(must(schema_version(db)), latest_schema_version());

  // Every table of the source, at least the known ones, with the same row count on both sides,
  // and each printed with its count.
  const auto tables = must(tables_in_copy_order(source));
  for (const auto& t : kSchemaTables) {
    EXPECT_NE(std::find(tables.begin(), tables.end(), t), tables.end()) << "not copied: " << t;
  }
  for (const auto& t : tables) {
    const auto expected = count_of(source, t) + (t == "audit_log" ? 1 : 0);  // + database_migrated
    EXPECT_EQ(count_of(db, t), expected) << t;
    const auto heading = r.out.find("\n" + t + " ");
    ASSERT_NE(heading, std::string::npos) << t << " not in the report:\n" << r.out;
    EXPECT_EQ(std::stoll(r.out.substr(heading + 1 + t.size())), count_of(source, t)) << t;
  }
  EXPECT_GT(count_of(db, "card_records"), 0);
  EXPECT_GT(count_of(db, "hlr_jobs"), 0);
  EXPECT_EQ(count_of(db, "sessions WHERE ended_at IS NULL AND outcome IS NULL"), 1);

  // The audit chain verifies on PostgreSQL with the same key, and ends with the migration.
  must(check_master_key(db, key));
  AuditLog audit(db, key);
  const auto chain = must(audit.verify());
  EXPECT_TRUE(chain.intact()) << chain.problem;
  EXPECT_EQ(chain.entries_checked, source_entries + 1);
  const auto last = must(audit.last(1));
  ASSERT_EQ(last.size(), 1u);
  EXPECT_EQ(last[0].event, "database_migrated");
  EXPECT_NE(last[0].subject.find("***"), std::string::npos) << last[0].subject;
  EXPECT_EQ(last[0].subject.find(kPassword), std::string::npos);
  EXPECT_NE(last[0].detail.find("cards=5"), std::string::npos) << last[0].detail;

  // Sealed values open on PostgreSQL to what they were: they were copied as the same sealed blobs.
  Stores s(db, key, clock());
  auto retailer = must(s.retailers.find(kRetailerA));
  ASSERT_TRUE(retailer.has_value());
  EXPECT_EQ(to_hex(retailer->keys.k_ra.view()), to_hex(Bytes(16, 0x11)));
  EXPECT_EQ(to_hex(must(s.records.keys_of(iccids[0], 1)).ki.view()), kKi);
  EXPECT_EQ(must(s.records.personal_data(must(s.records.history(iccids[0]))[0].subscriber_id)),
            R"({"name":"Ada Lovelace","id_number":"X1234567"})");

  // New rows get fresh ids: the identity sequences were moved past the copied ones.
  const auto max_decision = count_of(db, "decisions");
  EXPECT_EQ(must(s.records.record_decision(kRetailerA, std::nullopt, false, {"test"})), max_decision + 1);
  const auto session = must(s.sessions.open(kRetailerA, "192.0.2.9:4000"));
  EXPECT_EQ(session, 3);
  must(s.records.record_personalisation(personalisation(s, iccids[1], session)));
  EXPECT_EQ(count_of(db, "subscribers"), 2);
  EXPECT_EQ(count_of(db, "hlr_jobs"), 2);
  EXPECT_TRUE(must(AuditLog(db, key).verify()).intact());

  EXPECT_EQ(all_output.find(kPassword), std::string::npos) << all_output;
}

TEST_F(AdsctlMigrateTest, ASecondMigrateIntoTheSameTargetIsRefused) {
  ASSERT_EQ(migrate().exit_code, 0);
  auto db = must(Database::open(target->url(), OpenMode::MustExist));
  const auto cards = count_of(db, "cards");
  const auto entries = count_of(db, "audit_log");

  auto again = migrate();
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_NE(again.err.find("already holds an ADS"), std::string::npos) << again.err;
  EXPECT_NE(again.err.find("nothing was copied"), std::string::npos) << again.err;
  EXPECT_EQ(count_of(db, "cards"), cards);
  EXPECT_EQ(count_of(db, "audit_log"), entries);
  EXPECT_EQ(all_output.find(kPassword), std::string::npos) << all_output;
}

TEST_F(AdsctlMigrateTest, TheWrongMasterKeyIsRefusedAndLeavesTheTargetEmpty) {
  const std::string other_key = dir.file("other.key");
  must(MasterKey::create_file(other_key));
  auto r = migrate(target_url_with_password(), other_key);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("master key does not match"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
  expect_target_untouched();
}

TEST_F(AdsctlMigrateTest, ABrokenSourceChainIsRefusedSayingWhere) {
  ASSERT_EQ(test::raw_exec(source_path, "DROP TRIGGER audit_log_no_update; "
                                        "UPDATE audit_log SET detail = 'edited' WHERE seq = 2"),
            "");
  auto r = migrate();
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("broken at entry 2"), std::string::npos) << r.err;
  expect_target_untouched();
}

TEST_F(AdsctlMigrateTest, AnOlderSourceSchemaIsRefusedWithWhatToDo) {
  ASSERT_EQ(test::raw_exec(source_path, "PRAGMA user_version = " + std::to_string(latest_schema_version() - 1)), "");
  auto r = migrate();
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("open it once with this version's adsctl"), std::string::npos) << r.err;
  expect_target_untouched();
}

TEST_F(AdsctlMigrateTest, AFailureMidCopyLeavesNoRowInTheTarget) {
  // Text with a NUL, which PostgreSQL cannot hold: refused when its row comes, after ads_meta and
  // audit_log rows were already inserted in the same transaction.
  ASSERT_EQ(test::raw_exec(source_path, "INSERT INTO decisions (retailer_serial, go, reasons, at) "
                                        "VALUES ('8949000000000000001', 0, CAST(x'610062' AS TEXT), 0)"),
            "");
  auto r = migrate();
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("holds text with a NUL"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("nothing was copied"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("dropdb"), std::string::npos) << r.err;
  auto db = must(Database::open(target->url(), OpenMode::MustExist));  // the schema is there
  auto source = must(Database::open(source_path, OpenMode::MustExist));
  for (const auto& t : must(tables_in_copy_order(source))) EXPECT_EQ(count_of(db, t), 0) << t;
}

TEST_F(AdsctlMigrateTest, TablesAreCopiedAfterTheTablesTheyReferTo) {
  auto source = must(Database::open(source_path, OpenMode::MustExist));
  const auto order = must(tables_in_copy_order(source));
  const auto at = [&order](const std::string& t) { return std::find(order.begin(), order.end(), t) - order.begin(); };
  const std::vector<std::pair<std::string, std::string>> parent_child = {
      {"retailers", "card_batches"}, {"card_batches", "cards"},   {"retailers", "terminals"},
      {"number_pools", "number_allocations"}, {"cards", "number_allocations"}, {"cards", "card_records"},
      {"subscribers", "card_records"}, {"decisions", "card_records"}, {"cards", "hlr_jobs"}};
  for (const auto& [parent, child] : parent_child) EXPECT_LT(at(parent), at(child)) << parent << " / " << child;
  EXPECT_EQ(std::count_if(order.begin(), order.end(), [](const std::string& t) { return t.starts_with("sqlite_"); }), 0);
}

TEST_F(AdsctlMigrateTest, ATargetThatIsNotAUrlIsAUsageError) {
  auto r = adsctl({"migrate", "--from", source_path, "--to", dir.file("other.db"), "--master-key=" + key_path});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--to must be a postgresql://"), std::string::npos) << r.err;
}

// Needs no cluster: the target cannot be reached, and the refusal names it without its password.
TEST(AdsctlMigrateOutput, AnUnreachableTargetIsRefusedWithoutShowingThePassword) {
  test::TempDir dir;
  const std::string db = dir.file("ads.db");
  const std::string key = dir.file("ads-master.key");
  auto init = cardperso::testing::run_command(ADSCTL_PATH, {"init", "--db=" + db, "--master-key=" + key}, dir.file("e"));
  ASSERT_EQ(init.exit_code, 0) << init.err;
  for (const std::string& url : {"postgresql://migrator:" + kPassword + "@127.0.0.1:1/ads?connect_timeout=5",
                                 "postgresql://migrator@127.0.0.1:1/ads?password=" + kPassword + "&connect_timeout=5"}) {
    auto r = cardperso::testing::run_command(ADSCTL_PATH, {"migrate", "--from", db, "--to", url, "--master-key=" + key},
                                             dir.file("e"));
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("cannot connect to PostgreSQL at postgresql://migrator"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("***"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("nothing was copied"), std::string::npos) << r.err;
    EXPECT_EQ(r.out.find(kPassword), std::string::npos) << r.out;
    EXPECT_EQ(r.err.find(kPassword), std::string::npos) << r.err;
    // The settings as a --config file: the URL is there, its password is not.
    auto printed = cardperso::testing::run_command(
        ADSCTL_PATH, {"migrate", "--from", db, "--to", url, "--master-key=" + key, "--print-config"}, dir.file("e"));
    EXPECT_EQ(printed.exit_code, 0) << printed.err;
    EXPECT_NE(printed.out.find("to = postgresql://migrator"), std::string::npos) << printed.out;
    EXPECT_EQ(printed.out.find(kPassword), std::string::npos) << printed.out;
  }
}

// The help the man page is generated from: listed in the tool's help, with its own usage and options.
TEST(AdsctlMigrateOutput, HelpListsTheCommandAndItsOptions) {
  test::TempDir dir;
  auto top = cardperso::testing::run_command(ADSCTL_PATH, {"--help"}, dir.file("e"));
  EXPECT_EQ(top.exit_code, 0);
  EXPECT_NE(top.out.find("migrate --from sqlite:PATH --to postgresql://URL"), std::string::npos) << top.out;
  auto r = cardperso::testing::run_command(ADSCTL_PATH, {"migrate", "--help"}, dir.file("e"));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  for (const char* text : {"Usage: adsctl migrate --from sqlite:PATH --to postgresql://URL", "--from", "--to",
                           "--master-key", "one transaction", "database_migrated"}) {
    EXPECT_NE(r.out.find(text), std::string::npos) << text << "\n" << r.out;
  }
  auto missing = cardperso::testing::run_command(ADSCTL_PATH, {"migrate", "--from", "x.db"}, dir.file("e"));
  EXPECT_EQ(missing.exit_code, 1) << "--to is required";
}

}  // namespace
}  // namespace cardperso::ads
