// adsctl retailer enrol --reader: a blank SIM made by cardperso-mkcards, served by a real card-sim in a
// vpcd reader of a private pcscd, becomes a retailer card through adsctl run as a process. The card is
// then checked through PC/SC and the database through the store.
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "cardperso/ads/store/audit_log.hpp"
#include "cardperso/ads/store/migrations.hpp"
#include "cardperso/ads/store/retailer_store.hpp"
#include "cardperso/cardsim/card_builders.hpp"
#include "cardperso/card/file_ids.hpp"
#include "cardperso/testing/run_program.hpp"
#include "pcsc_fixture.hpp"

namespace cardperso::testing {
namespace {

using namespace std::chrono_literals;

const std::string kSecretHex = "000102030405060708090a0b0c0d0e0f";
const std::string kPrefix = "8988211";

using ProcessRun = CommandRun;

class AdsctlReaderEnrolTest : public PcscFixture {
 protected:
  ProcessRun run_program(const std::string& program, std::vector<std::string> args) {
    return testing::run_command(program, args, dir_ + "/stderr", &all_output_);
  }
  ProcessRun adsctl(std::vector<std::string> args) {
    args.push_back("--db=" + dir_ + "/ads.db");
    args.push_back("--master-key=" + dir_ + "/ads-master.key");
    return run_program(ADSCTL_PATH, std::move(args));
  }

  // adsctl init, and `count` blank SIMs from the known batch secret; returns their ICCIDs.
  std::vector<std::string> init_and_make_blank_cards(int count) {
    secret_file_ = dir_ + "/batch.secret";
    {
      std::ofstream(secret_file_) << kSecretHex << "\n";
    }
    ::chmod(secret_file_.c_str(), 0600);
    auto made = run_program(MKCARDS_PATH, {"blank-batch", "--secret-file", secret_file_, "--iccid-prefix", kPrefix,
                                           "--first", "1", "--count", std::to_string(count), "--out", dir_ + "/cards"});
    EXPECT_EQ(made.exit_code, 0) << made.err;
    std::vector<std::string> iccids;
    std::istringstream in(made.out);
    for (std::string l; std::getline(in, l);)
      if (!l.empty()) iccids.push_back(l);
    auto init = adsctl({"init"});
    EXPECT_EQ(init.exit_code, 0) << init.err;
    return iccids;
  }
  std::string image_of(const std::string& iccid) { return dir_ + "/cards/" + iccid + ".json"; }
  // adsctl init, `count` blank SIMs, and card `index` of them in reader 0 (nullptr: the test failed).
  CardSimProcess* init_and_insert_blank_card(int count, int index, std::vector<std::string>& iccids) {
    iccids = init_and_make_blank_cards(count);
    EXPECT_EQ(iccids.size(), static_cast<std::size_t>(count));
    if (iccids.size() != static_cast<std::size_t>(count)) return nullptr;
    return start_card(image_of(iccids[static_cast<std::size_t>(index)]));
  }
  // adsctl retailer enrol in reader 0 with a given card code, PIN 2468 and PUK 13572468.
  ProcessRun enrol_with_code(const std::string& code_hex) {
    return adsctl({"retailer", "enrol", "--reader", kReader0, "--card-code-hex", code_hex, "--pin", "2468", "--puk",
                   "13572468"});
  }
  static SecretBytes master_code(const std::string& iccid) {
    return cardsim::derive_master_code(hex(kSecretHex), iccid);
  }

  // The keys the store holds for a retailer, as the key file lays them out.
  Bytes stored_key_file(const std::string& serial) {
    auto key = ads::MasterKey::load_file(dir_ + "/ads-master.key");
    EXPECT_TRUE(key.ok());
    auto db = ads::open_ads_database(dir_ + "/ads.db", ads::OpenMode::MustExist);
    EXPECT_TRUE(db.ok());
    if (!key.ok() || !db.ok()) return {};
    ads::AuditLog audit(*db, *key);
    ads::RetailerStore store(*db, *key, audit, "test");
    auto found = store.find(serial);
    EXPECT_TRUE(found.ok() && found->has_value()) << serial << " not in the store";
    if (!found.ok() || !found->has_value()) return {};
    const auto& k = (*found)->keys;
    Bytes out{k.key_version};
    for (const SecretBytes* part : {&k.k_ra, &k.k_ia, &k.k_s, &k.k_d}) {
      const ByteView v = part->view();
      out.insert(out.end(), v.begin(), v.end());
    }
    return out;
  }
  bool retailer_stored(const std::string& serial) {
    auto list = adsctl({"retailer", "list"});
    EXPECT_EQ(list.exit_code, 0) << list.err;
    return list.out.find(serial) != std::string::npos;
  }

  // The key file is read by nobody, before or after VERIFY CHV1; after it the card computes with
  // exactly the keys the store holds.
  void expect_keys_hidden_and_computing(const std::string& pin_hex, const Bytes& expected) {
    auto card = connect();
    ASSERT_TRUE(card);
    EXPECT_TRUE(run(*card, "A0A40000023F00").ok());
    EXPECT_TRUE(run(*card, "A0A40000027F50").ok());
    EXPECT_TRUE(run(*card, "A0A40000026F01").ok());
    EXPECT_EQ(run(*card, "A0B0000041").sw, 0x9804) << "key file readable before VERIFY CHV1";
    EXPECT_EQ(run(*card, "A08A000010" + std::string(32, '0')).sw, 0x9804) << "the card computed before VERIFY CHV1";
    EXPECT_EQ(run(*card, "A020000108" + pin_hex).sw, 0x9000);
    auto read = run(*card, "A0B0000041");
    EXPECT_EQ(read.sw, 0x9804) << "key file readable with the PIN";
    EXPECT_TRUE(read.data.empty());
    expect_card_computes_with(*card, expected);
  }

  void expect_code_refused(const std::string& code_hex) {
    auto card = connect();
    ASSERT_TRUE(card);
    EXPECT_EQ(run(*card, "A020000A08" + code_hex).sw, 0x9804);
  }

  std::string secret_file_;
  std::string all_output_;
};

TEST_F(AdsctlReaderEnrolTest, EnrolWritesTheStoredKeysAndRetiresTheMasterCode) {
  std::vector<std::string> iccids;
  CardSimProcess* sim = init_and_insert_blank_card(1, 0, iccids);
  ASSERT_NE(sim, nullptr);
  const std::string iccid = iccids[0];
  const std::string master_hex = to_hex(master_code(iccid).view());

  auto enrol = enrol_with_code(master_hex);
  ASSERT_EQ(enrol.exit_code, 0) << enrol.err;
  EXPECT_EQ(enrol.out, "serial " + iccid + "\n");  // PIN/PUK were given: not printed

  power_cycle(sim);
  const Bytes stored = stored_key_file(iccid);
  ASSERT_EQ(stored.size(), cardperso::card::kRetailerKeyFileSize);
  expect_keys_hidden_and_computing("32343638FFFFFFFF", stored);
  power_cycle(sim);
  expect_code_refused(master_hex);  // the master code no longer opens the card

  // Enrolling the same card again is refused before anything reaches it.
  auto again = enrol_with_code(master_hex);
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_NE(again.err.find("already enrolled"), std::string::npos) << again.err;
  auto image = cardsim::load_image(image_of(iccid));
  ASSERT_TRUE(image.ok());
  EXPECT_EQ(image->tries_left[cardperso::card::kRefAdm1], 2) << "only the check above used an ADM try";

  // No code or key in any output.
  EXPECT_EQ(all_output_.find(master_hex), std::string::npos);
  EXPECT_EQ(all_output_.find(to_hex(ByteView(stored).subspan(1, 16))), std::string::npos);
}

TEST_F(AdsctlReaderEnrolTest, WrongCardCodeStopsAfterOneVerifyAndStoresNothing) {
  std::vector<std::string> iccids;
  CardSimProcess* sim = init_and_insert_blank_card(2, 1, iccids);
  ASSERT_NE(sim, nullptr);
  const std::string iccid = iccids[1];
  // The first card's code: a real master code, but not this card's.
  const std::string wrong_hex = to_hex(master_code(iccids[0]).view());

  auto enrol = enrol_with_code(wrong_hex);
  EXPECT_EQ(enrol.exit_code, 2);
  EXPECT_NE(enrol.err.find("the card refused the ADM code"), std::string::npos) << enrol.err;
  EXPECT_NE(enrol.err.find("at most 2 are left; check the code"), std::string::npos) << enrol.err;
  EXPECT_NE(enrol.err.find("nothing was written to the card and nothing was stored"), std::string::npos) << enrol.err;
  EXPECT_TRUE(enrol.out.empty());
  EXPECT_FALSE(retailer_stored(iccid));

  auto image = cardsim::load_image(image_of(iccid));
  ASSERT_TRUE(image.ok());
  EXPECT_EQ(image->tries_left[cardperso::card::kRefAdm1], 2) << "one VERIFY, no retry";
  EXPECT_EQ(image->files.size(), 4u) << "MF, EF_ICCID, ADM1 and the card key only: nothing created";
  // The right code still opens it.
  power_cycle(sim);
  auto card = connect();
  ASSERT_TRUE(card);
  EXPECT_EQ(run(*card, "A020000A08" + to_hex(master_code(iccid).view())).sw, 0x9000);
  EXPECT_EQ(all_output_.find(wrong_hex), std::string::npos);
}

TEST_F(AdsctlReaderEnrolTest, FromStockUsesTheImportedBatchAndPrintsAGeneratedPinOnce) {
  std::vector<std::string> iccids;
  CardSimProcess* sim = init_and_insert_blank_card(2, 0, iccids);
  ASSERT_NE(sim, nullptr);
  const std::string iccid = iccids[0];
  // Not in the stock yet: refused before the card is touched.
  auto unknown = adsctl({"retailer", "enrol", "--reader", kReader0, "--from-stock"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("nothing was written"), std::string::npos) << unknown.err;

  auto imported = adsctl({"batch", "import-secret", "--name", "retail-cards", "--secret-file", secret_file_,
                          "--iccid-prefix", kPrefix, "--first", "1", "--count", "2"});
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  auto enrol = adsctl({"retailer", "enrol", "--reader", kReader0, "--from-stock"});
  ASSERT_EQ(enrol.exit_code, 0) << enrol.err;
  std::istringstream lines(enrol.out);
  std::string serial_line, pin_line, puk_line, extra;
  std::getline(lines, serial_line);
  std::getline(lines, pin_line);
  std::getline(lines, puk_line);
  EXPECT_FALSE(std::getline(lines, extra));
  EXPECT_EQ(serial_line, "serial " + iccid);
  ASSERT_EQ(pin_line.rfind("pin ", 0), 0u) << enrol.out;
  ASSERT_EQ(puk_line.rfind("puk ", 0), 0u) << enrol.out;
  const std::string pin = pin_line.substr(4);
  ASSERT_EQ(pin.size(), 6u);
  EXPECT_EQ(puk_line.size(), 4u + 8u);
  auto pin_code = cardsim::encode_pin(pin);
  ASSERT_TRUE(pin_code.ok());

  power_cycle(sim);
  const Bytes stored = stored_key_file(iccid);
  ASSERT_EQ(stored.size(), cardperso::card::kRetailerKeyFileSize);
  expect_keys_hidden_and_computing(to_hex(pin_code->view()), stored);
  power_cycle(sim);
  expect_code_refused(to_hex(master_code(iccid).view()));
  EXPECT_EQ(all_output_.find(to_hex(master_code(iccid).view())), std::string::npos);
}

}  // namespace
}  // namespace cardperso::testing
