// adsctl batch / pool / card as the issuer runs them: real processes on a real database. A secret batch
// is made by `cardperso-mkcards blank-batch` and imported by adsctl with the same arguments: the ICCIDs
// must be the same, and every card must accept (VERIFY ADM1) the master code the ADS derives for it.
#include <gtest/gtest.h>

#include <sstream>

#include "cardperso/ads/store/audit_log.hpp"
#include "cardperso/ads/store/card_stock.hpp"
#include "cardperso/ads/store/migrations.hpp"
#include "cardperso/cardsim/card_image.hpp"
#include "cardperso/cardsim/sim_card.hpp"
#include "cardperso/testing/run_program.hpp"
#include "test_support.hpp"

namespace cardperso::ads {
namespace {

using test::must;

using ProcessRun = cardperso::testing::CommandRun;

class AdsctlStockTest : public ::testing::Test {
 protected:
  ProcessRun run(const std::string& program, std::vector<std::string> args) {
    return cardperso::testing::run_command(program, args, dir.file("stderr"), &all_output);
  }
  ProcessRun adsctl(std::vector<std::string> args) {
    args.push_back("--db=" + db_path);
    args.push_back("--master-key=" + key_path);
    return run(ADSCTL_PATH, std::move(args));
  }
  // init + one enrolled retailer; returns its serial.
  std::string init_with_retailer(const std::string& serial) {
    auto i = adsctl({"init"});
    if (i.exit_code != 0) throw std::runtime_error(i.err);
    auto e = adsctl({"retailer", "enrol", "--card-image", dir.file("r-" + serial + ".json"), "--serial", serial});
    if (e.exit_code != 0) throw std::runtime_error(e.err);
    return serial;
  }
  static std::vector<std::string> lines(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);)
      if (!l.empty()) out.push_back(l);
    return out;
  }

  test::TempDir dir;
  std::string db_path = dir.file("ads.db");
  std::string key_path = dir.file("ads-master.key");
  std::string all_output;
};

std::string sw(const Bytes& r) { return r.size() >= 2 ? to_hex(ByteView(r).last(2)) : "??"; }

TEST_F(AdsctlStockTest, SecretBatchMatchesMkcardsAndEveryCardTakesTheDerivedCode) {
  const std::string retailer = init_with_retailer("1000000001");
  const std::string secret_file = dir.file("batch.secret");
  const std::string cards_dir = dir.file("cards");
  auto made = run(MKCARDS_PATH, {"blank-batch", "--secret-file", secret_file, "--new-secret", "--iccid-prefix",
                                 "8988211", "--first", "998", "--count", "4", "--out", cards_dir});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  const auto mk_iccids = lines(made.out);
  ASSERT_EQ(mk_iccids.size(), 4u);

  auto imported = adsctl({"batch", "import-secret", "--name", "shop1-2024", "--secret-file", secret_file,
                          "--iccid-prefix", "8988211", "--first", "998", "--count", "4"});
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  EXPECT_EQ(imported.out, "batch shop1-2024 imported: 4 cards\n");
  ASSERT_EQ(adsctl({"batch", "assign", "--name", "shop1-2024", "--retailer", retailer}).exit_code, 0);

  auto listed = adsctl({"card", "list"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  auto key = must(MasterKey::load_file(key_path));
  auto db = must(open_ads_database(db_path, OpenMode::MustExist));
  AuditLog audit(db, key);
  CardStock stock(db, key, audit, "test");
  for (const auto& iccid : mk_iccids) {
    EXPECT_NE(listed.out.find(iccid), std::string::npos) << iccid << " not imported";
    auto opening = must(stock.lookup_card_for(retailer, iccid, CardPurpose::NewCard));
    cardsim::SimCard card(must(cardsim::load_image(cards_dir + "/" + iccid + ".json")));
    card.power_on();
    EXPECT_EQ(sw(card.transmit(hex("A020000A08" + to_hex(opening.code.view())))), "9000") << iccid;
  }
  // The secret never shows in any output.
  const Bytes secret_text = test::read_file(secret_file);
  EXPECT_EQ(all_output.find(std::string(secret_text.begin(), secret_text.begin() + 32)), std::string::npos);
}

TEST_F(AdsctlStockTest, CsvBatchPoolsAndCardShow) {
  const std::string retailer = init_with_retailer("1000000002");
  test::write_file(dir.file("cards.csv"),
                   "\"imsi\",\"iccid\",\"acc\",\"ki\",\"opc\",\"adm1\"\n"
                   "\"999700000053010\",\"8988211000000530108\",\"0001\",\"51ACE8BD\",\"E5A00E8D\",\"65942330\"\n",
                   0600);
  auto imported = adsctl({"batch", "import-csv", "--name", "maker-1", "--file", dir.file("cards.csv")});
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  EXPECT_EQ(imported.out.rfind("batch maker-1 imported: 1 cards\nnote: a CSV batch's cards hold no card key", 0), 0u)
      << imported.out;
  auto listed = adsctl({"batch", "list"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_NE(listed.out.find("CARD KEYS"), std::string::npos) << listed.out;
  EXPECT_NE(listed.out.find("csv     none"), std::string::npos) << listed.out;
  // Errors are refusals (exit 2) that name the line.
  test::write_file(dir.file("bad.csv"), "iccid,adm1\n8988211000000530116,123456789\n", 0600);
  auto bad = adsctl({"batch", "import-csv", "--name", "maker-2", "--file", dir.file("bad.csv")});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("bad.csv line 2: ADM code of ICCID 8988211000000530116 must be 1 to 8 decimal digits"),
            std::string::npos)
      << bad.err;
  ASSERT_EQ(adsctl({"batch", "assign", "--name", "maker-1", "--retailer", retailer}).exit_code, 0);
  auto batches = adsctl({"batch", "list"});
  ASSERT_EQ(batches.exit_code, 0);
  EXPECT_NE(batches.out.find("maker-1"), std::string::npos);
  EXPECT_NE(batches.out.find(retailer), std::string::npos);
  EXPECT_EQ(batches.out.find("maker-2"), std::string::npos);

  ASSERT_EQ(adsctl({"pool", "add", "--kind", "imsi", "--prefix", "99970", "--first", "0000000001", "--last",
                    "0000000010"}).exit_code,
            0);
  auto overlap = adsctl({"pool", "add", "--kind", "imsi", "--prefix", "99970", "--first", "0000000005", "--last",
                         "0000000020"});
  EXPECT_EQ(overlap.exit_code, 2);
  EXPECT_NE(overlap.err.find("overlaps"), std::string::npos);
  EXPECT_EQ(adsctl({"pool", "add", "--kind", "imei", "--first", "1", "--last", "2"}).exit_code, 1);
  auto pools = adsctl({"pool", "list"});
  EXPECT_NE(pools.out.find("999700000000001..999700000000010"), std::string::npos) << pools.out;

  auto show = adsctl({"card", "show", "8988211000000530108"});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_NE(show.out.find("state        blank"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("batch        maker-1"), std::string::npos);
  EXPECT_EQ(show.out.find("3635393432333330"), std::string::npos);  // never the code
  EXPECT_EQ(all_output.find("65942330"), std::string::npos);
  EXPECT_EQ(adsctl({"card", "show", "8988211000000530116"}).exit_code, 2);
  EXPECT_EQ(adsctl({"card", "list", "--state", "personalised"}).out.find("8988211000000530108"), std::string::npos);
  EXPECT_NE(adsctl({"card", "list", "--state", "blank"}).out.find("8988211000000530108"), std::string::npos);
  EXPECT_EQ(adsctl({"card", "list", "--state", "lost"}).exit_code, 1);
}

TEST_F(AdsctlStockTest, SecretFileMustBeOwnerOnlyAndHelpWorks) {
  init_with_retailer("1000000003");
  test::write_file(dir.file("open.secret"), "000102030405060708090a0b0c0d0e0f\n", 0644);
  auto r = adsctl({"batch", "import-secret", "--name", "b", "--secret-file", dir.file("open.secret"), "--iccid-prefix",
                   "8988211", "--first", "1", "--count", "1"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("chmod 600"), std::string::npos) << r.err;
  for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
           {"batch", "import-secret"}, {"batch", "import-csv"}, {"batch", "assign"}, {"batch", "list"},
           {"pool", "add"}, {"pool", "list"}, {"card", "show"}, {"card", "list"}}) {
    const std::string name = args[0] + " " + args[1];
    args.push_back("--help");
    auto h = run(ADSCTL_PATH, args);
    EXPECT_EQ(h.exit_code, 0) << name;
    EXPECT_NE(h.out.find("Usage: adsctl " + name), std::string::npos) << h.out;
  }
  auto top = run(ADSCTL_PATH, {"--help"});
  EXPECT_NE(top.out.find("batch import-secret"), std::string::npos);
}

}  // namespace
}  // namespace cardperso::ads
