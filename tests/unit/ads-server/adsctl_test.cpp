// adsctl as the issuer runs it: a real process on a real database file and key file. The card
// image it writes is loaded into the card engine and read back through APDUs.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <map>
#include <sstream>

#include "cardperso/ads/store/audit_log.hpp"
#include "cardperso/ads/store/migrations.hpp"
#include "cardperso/ads/store/retailer_store.hpp"
#include "cardperso/cardsim/card_builders.hpp"
#include "cardperso/cardsim/card_image.hpp"
#include "cardperso/cardsim/sim_card.hpp"
#include "cardperso/common/crypto.hpp"
#include "cardperso/testing/run_program.hpp"
#include "test_support.hpp"

namespace cardperso::ads {
namespace {

using test::must;

using ProcessRun = cardperso::testing::CommandRun;

class AdsctlTest : public ::testing::Test {
 protected:
  // Runs adsctl with --db and --master-key in the temporary directory (unless the args name their own).
  ProcessRun adsctl(std::vector<std::string> args, bool with_paths = true) {
    if (with_paths) {
      args.push_back("--db=" + db_path);
      args.push_back("--master-key=" + key_path);
    }
    auto r = cardperso::testing::run_command(ADSCTL_PATH, args, dir.file("stderr"));
    all_output.insert(all_output.end(), r.out.begin(), r.out.end());
    all_output.insert(all_output.end(), r.err.begin(), r.err.end());
    return r;
  }
  // "serial 89...\npin 123456\n" -> {"serial": "89...", "pin": "123456"}
  static std::map<std::string, std::string> fields(const std::string& out) {
    std::map<std::string, std::string> m;
    std::istringstream in(out);
    std::string k, v;
    while (in >> k >> v) m[k] = v;
    return m;
  }
  RetailerRecord stored(const std::string& serial) {
    auto key = must(MasterKey::load_file(key_path));
    auto db = must(open_ads_database(db_path, OpenMode::MustExist));
    AuditLog audit(db, key);
    RetailerStore store(db, key, audit, "test");
    auto r = must(store.find(serial));
    if (!r) throw std::runtime_error("not stored: " + serial);
    return std::move(*r);
  }
  SecretBytes stored_issuer_code(const std::string& serial) {
    auto key = must(MasterKey::load_file(key_path));
    auto db = must(open_ads_database(db_path, OpenMode::MustExist));
    AuditLog audit(db, key);
    RetailerStore store(db, key, audit, "test");
    return must(store.issuer_code(serial));
  }
  void init() {
    auto r = adsctl({"init"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  test::TempDir dir;
  std::string db_path = dir.file("ads.db");
  std::string key_path = dir.file("ads-master.key");
  Bytes all_output;
};

// The card's answer to one APDU: data || SW1 SW2.
Bytes apdu(cardsim::SimCard& card, const std::string& hex_command) { return card.transmit(hex(hex_command)); }
std::string sw(const Bytes& r) { return r.size() >= 2 ? to_hex(ByteView(r).last(2)) : "??"; }

// The key file as the card stores it (the image is the card's memory, not its interface), after
// checking through the card's interface that no command reads it, not even after VERIFY CHV1, and
// that the card's RETAILER CRYPTOGRAM is AES under the stored K_RA.
Bytes stored_key_file(const std::string& image_path, const std::string& pin) {
  const auto image = must(cardsim::load_image(image_path));
  cardsim::SimCard card(image);
  card.power_on();
  EXPECT_EQ(sw(apdu(card, "A0A40000027F50")).substr(0, 2), "9f");
  EXPECT_EQ(sw(apdu(card, "A0A40000026F01")).substr(0, 2), "9f");
  EXPECT_EQ(sw(apdu(card, "A0B0000041")), "9804");
  std::string pin_hex = to_hex(view(pin));
  pin_hex.resize(16, 'f');
  EXPECT_EQ(sw(apdu(card, "A020000108" + pin_hex)), "9000");
  EXPECT_EQ(apdu(card, "A0B0000041"), hex("9804"));  // never, not even with the PIN
  Bytes key_file;
  for (const auto& f : image.files)
    if (f.path == "3F00/7F50/6F01") key_file = f.data;
  EXPECT_EQ(key_file.size(), 65u);
  if (key_file.size() != 65u) return key_file;
  const std::string rn1 = "00112233445566778899aabbccddeeff";
  EXPECT_EQ(sw(apdu(card, "A08A000010" + rn1)), "9f10");
  const Bytes answer = apdu(card, "A0C0000010");
  const auto expected = crypto::aes128_encrypt_block(ByteView(key_file).subspan(1, 16), hex(rn1));
  EXPECT_EQ(to_hex(answer), to_hex(expected) + "9000");
  return key_file;
}

TEST_F(AdsctlTest, HelpForTheToolAndEverySubcommand) {
  auto top = adsctl({"--help"}, false);
  EXPECT_EQ(top.exit_code, 0);
  for (const char* c : {"init", "retailer enrol", "retailer list", "retailer revoke", "retailer unlock",
                        "terminal enrol", "terminal list", "terminal revoke", "audit show", "audit verify"}) {
    EXPECT_NE(top.out.find(c), std::string::npos) << c;
  }
  const std::vector<std::vector<std::string>> subcommands = {
      {"init"}, {"retailer", "enrol"}, {"retailer", "list"}, {"retailer", "revoke"},
      {"retailer", "unlock"}, {"terminal", "enrol"}, {"terminal", "list"}, {"terminal", "revoke"},
      {"audit", "show"}, {"audit", "verify"}};
  for (auto args : subcommands) {
    std::string name = args[0] + (args.size() > 1 ? " " + args[1] : "");
    args.push_back("--help");
    auto r = adsctl(args, false);
    EXPECT_EQ(r.exit_code, 0) << name << r.err;
    EXPECT_NE(r.out.find("Usage: adsctl " + name), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("--master-key"), std::string::npos) << r.out;
  }
  EXPECT_FALSE(std::filesystem::exists(db_path));  // help touches nothing
}

TEST_F(AdsctlTest, UsageErrorsExitOne) {
  EXPECT_EQ(adsctl({}, false).exit_code, 1);
  EXPECT_EQ(adsctl({"frobnicate"}).exit_code, 1);
  EXPECT_EQ(adsctl({"retailer", "frobnicate"}).exit_code, 1);
  auto missing = adsctl({"retailer", "enrol"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("card-image"), std::string::npos) << missing.err;
  EXPECT_EQ(adsctl({"retailer", "enrol", "--card-image", dir.file("c.json"), "--serial", "12ab567890"}).exit_code, 1);
  EXPECT_EQ(adsctl({"retailer", "enrol", "--card-image", dir.file("c.json"), "--pin", "12"}).exit_code, 1);
  EXPECT_EQ(adsctl({"retailer", "revoke"}).exit_code, 1);
  EXPECT_EQ(adsctl({"audit", "show", "--last", "0"}).exit_code, 1);
}

TEST_F(AdsctlTest, InitCreatesBothAndRefusesToOverwrite) {
  init();
  EXPECT_EQ(test::file_mode(db_path), 0600u);
  EXPECT_EQ(test::file_mode(key_path), 0600u);
  const Bytes key_before = test::read_file(key_path);
  auto again = adsctl({"init"});
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_NE(again.err.find("already exists"), std::string::npos) << again.err;
  EXPECT_EQ(test::read_file(key_path), key_before);
  // Key present, database missing: still refused, key untouched.
  auto key_only = adsctl({"init", "--db=" + dir.file("other.db"), "--master-key=" + key_path}, false);
  EXPECT_EQ(key_only.exit_code, 2);
  EXPECT_FALSE(std::filesystem::exists(dir.file("other.db")));
  EXPECT_EQ(test::read_file(key_path), key_before);
}

TEST_F(AdsctlTest, CommandsBeforeInitSayWhatToDo) {
  auto r = adsctl({"retailer", "list"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("adsctl init"), std::string::npos) << r.err;
}

TEST_F(AdsctlTest, EnrolWritesACardWhoseKeysMatchTheDatabase) {
  init();
  const std::string image = dir.file("retailer.json");
  auto r = adsctl({"retailer", "enrol", "--card-image", image});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto f = fields(r.out);
  const std::string serial = f["serial"], pin = f["pin"], puk = f["puk"];
  ASSERT_EQ(serial.size(), 19u);
  EXPECT_EQ(serial.substr(0, 2), "89");
  EXPECT_EQ(serial.back(), cardsim::luhn_digit(serial.substr(0, 18)));
  ASSERT_EQ(pin.size(), 6u);
  ASSERT_EQ(puk.size(), 8u);
  EXPECT_EQ(test::file_mode(image), 0600u);

  const Bytes key_file = stored_key_file(image, pin);
  const auto rec = stored(serial);
  ASSERT_EQ(key_file.size(), 65u);
  EXPECT_EQ(key_file[0], 1);
  EXPECT_EQ(rec.key_version, 1);
  EXPECT_EQ(to_hex(ByteView(key_file).subspan(1, 16)), to_hex(rec.keys.k_ra.view()));
  EXPECT_EQ(to_hex(ByteView(key_file).subspan(17, 16)), to_hex(rec.keys.k_ia.view()));
  EXPECT_EQ(to_hex(ByteView(key_file).subspan(33, 16)), to_hex(rec.keys.k_s.view()));
  EXPECT_EQ(to_hex(ByteView(key_file).subspan(49, 16)), to_hex(rec.keys.k_d.view()));
  // Four independent keys.
  EXPECT_NE(to_hex(rec.keys.k_ra.view()), to_hex(rec.keys.k_ia.view()));
  EXPECT_NE(to_hex(rec.keys.k_s.view()), to_hex(rec.keys.k_d.view()));

  // The issuer code stored is the card's ADM1: it verifies on the card.
  cardsim::SimCard card(must(cardsim::load_image(image)));
  card.power_on();
  EXPECT_EQ(sw(card.transmit(concat({hex("A02000 0A 08"), stored_issuer_code(serial).view()}))), "9000");

  // The serial is readable by anyone from EF_ICCID.
  cardsim::SimCard card2(must(cardsim::load_image(image)));
  card2.power_on();
  EXPECT_EQ(sw(apdu(card2, "A0A40000022FE2")).substr(0, 2), "9f");
  const Bytes iccid = apdu(card2, "A0B000000A");
  EXPECT_EQ(sw(iccid), "9000");
  EXPECT_EQ(to_hex(ByteView(iccid).first(2)).substr(0, 2), "98");  // "89" nibble-swapped
}

TEST_F(AdsctlTest, EnrolWithGivenSerialPinAndPuk) {
  init();
  const std::string image = dir.file("r.json");
  auto r = adsctl({"retailer", "enrol", "--card-image", image, "--serial", "1234567890123", "--pin", "4321", "--puk",
                   "87654321"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto f = fields(r.out);
  EXPECT_EQ(f["serial"], "1234567890123");
  EXPECT_EQ(f.count("pin"), 0u);  // only a generated PIN is printed
  EXPECT_EQ(f.count("puk"), 0u);
  EXPECT_EQ(r.out.find("4321"), std::string::npos);
  EXPECT_EQ(r.err.find("87654321"), std::string::npos);
  const Bytes key_file = stored_key_file(image, "4321");
  EXPECT_EQ(to_hex(ByteView(key_file).subspan(1, 16)), to_hex(stored("1234567890123").keys.k_ra.view()));

  // The same serial again is refused and leaves no card image behind.
  const std::string image2 = dir.file("r2.json");
  auto dup = adsctl({"retailer", "enrol", "--card-image", image2, "--serial", "1234567890123"});
  EXPECT_EQ(dup.exit_code, 2);
  EXPECT_NE(dup.err.find("already enrolled"), std::string::npos) << dup.err;
  EXPECT_FALSE(std::filesystem::exists(image2));
  // An existing image file is never overwritten.
  auto clobber = adsctl({"retailer", "enrol", "--card-image", image});
  EXPECT_EQ(clobber.exit_code, 2);
  EXPECT_NE(clobber.err.find("already exists"), std::string::npos);
}

TEST_F(AdsctlTest, ListRevokeUnlockAndAudit) {
  init();
  ASSERT_EQ(adsctl({"retailer", "enrol", "--card-image", dir.file("a.json"), "--serial", "1111111111"}).exit_code, 0);
  ASSERT_EQ(adsctl({"retailer", "enrol", "--card-image", dir.file("b.json"), "--serial", "2222222222"}).exit_code, 0);
  auto list = adsctl({"retailer", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find("SERIAL"), std::string::npos);
  EXPECT_NE(list.out.find("1111111111"), std::string::npos);
  EXPECT_NE(list.out.find("2222222222"), std::string::npos);
  EXPECT_EQ(list.out.find("revoked"), std::string::npos);

  auto revoke = adsctl({"retailer", "revoke", "1111111111"});
  ASSERT_EQ(revoke.exit_code, 0) << revoke.err;
  list = adsctl({"retailer", "list"});
  std::istringstream lines(list.out);
  std::string line;
  int checked = 0;
  while (std::getline(lines, line)) {
    if (line.rfind("1111111111", 0) == 0) {
      EXPECT_NE(line.find("revoked"), std::string::npos) << line;
      ++checked;
    }
    if (line.rfind("2222222222", 0) == 0) {
      EXPECT_NE(line.find("active"), std::string::npos) << line;
      ++checked;
    }
  }
  EXPECT_EQ(checked, 2) << list.out;
  EXPECT_EQ(adsctl({"retailer", "revoke", "1111111111"}).exit_code, 2);
  auto unlock_revoked = adsctl({"retailer", "unlock", "--serial", "1111111111"});
  EXPECT_EQ(unlock_revoked.exit_code, 2);
  EXPECT_NE(unlock_revoked.err.find("revocation is final"), std::string::npos);
  EXPECT_EQ(adsctl({"retailer", "unlock", "2222222222"}).exit_code, 0);
  EXPECT_EQ(adsctl({"retailer", "revoke", "3333333333"}).exit_code, 2);

  auto show = adsctl({"audit", "show", "--last", "3"});
  ASSERT_EQ(show.exit_code, 0);
  EXPECT_NE(show.out.find("retailer_revoked  1111111111"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("retailer_unlocked  2222222222"), std::string::npos) << show.out;
  EXPECT_EQ(show.out.find("ads_initialised"), std::string::npos) << show.out;  // only the last 3
  auto verify = adsctl({"audit", "verify"});
  EXPECT_EQ(verify.exit_code, 0) << verify.err;
  EXPECT_NE(verify.out.find("intact: 5 entries"), std::string::npos) << verify.out;

  // Someone with write access to the file rewrites history: verify says where.
  ASSERT_EQ(test::raw_exec(db_path, "DROP TRIGGER audit_log_no_update; "
                                    "UPDATE audit_log SET subject = '2222222222' WHERE event = 'retailer_revoked'"),
            "");
  auto broken = adsctl({"audit", "verify"});
  EXPECT_EQ(broken.exit_code, 2);
  EXPECT_NE(broken.err.find("audit log broken at entry 4"), std::string::npos) << broken.err;
}

// A terminal's device public key enrolled for two retailer cards of its shop, listed, revoked for one
// and then for all; every change audited; bad input refused with what to do.
TEST_F(AdsctlTest, TerminalEnrolListRevoke) {
  init();
  ASSERT_EQ(adsctl({"retailer", "enrol", "--card-image", dir.file("a.json"), "--serial", "1111111111"}).exit_code, 0);
  ASSERT_EQ(adsctl({"retailer", "enrol", "--card-image", dir.file("b.json"), "--serial", "2222222222"}).exit_code, 0);
  const std::string key = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
  auto enrol = adsctl({"terminal", "enrol", "--retailer", "1111111111", "--public-key", key, "--label", "front desk"});
  ASSERT_EQ(enrol.exit_code, 0) << enrol.err;
  EXPECT_NE(enrol.err.find("enrolled for retailer 1111111111"), std::string::npos) << enrol.err;
  ASSERT_EQ(adsctl({"terminal", "enrol", "--retailer", "2222222222", "--public-key", key}).exit_code, 0);

  auto again = adsctl({"terminal", "enrol", "--retailer", "1111111111", "--public-key", key});
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_NE(again.err.find("already enrolled"), std::string::npos) << again.err;
  auto no_retailer = adsctl({"terminal", "enrol", "--retailer", "3333333333", "--public-key", key});
  EXPECT_EQ(no_retailer.exit_code, 2);
  EXPECT_NE(no_retailer.err.find("enrol the retailer card first"), std::string::npos) << no_retailer.err;
  auto short_key = adsctl({"terminal", "enrol", "--retailer", "1111111111", "--public-key", key.substr(2)});
  EXPECT_EQ(short_key.exit_code, 1);
  EXPECT_NE(short_key.err.find("64 hex digits"), std::string::npos) << short_key.err;

  auto list = adsctl({"terminal", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find("PUBLIC KEY"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find(key + "  1111111111"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("front desk"), std::string::npos) << list.out;
  EXPECT_EQ(list.out.find("revoked"), std::string::npos) << list.out;

  ASSERT_EQ(adsctl({"terminal", "revoke", "--public-key", key, "--retailer", "2222222222"}).exit_code, 0);
  auto only_b = adsctl({"terminal", "list", "--retailer", "2222222222"});
  EXPECT_NE(only_b.out.find("revoked"), std::string::npos) << only_b.out;
  EXPECT_EQ(only_b.out.find("1111111111"), std::string::npos) << only_b.out;
  auto all = adsctl({"terminal", "revoke", "--public-key", key});
  ASSERT_EQ(all.exit_code, 0) << all.err;
  EXPECT_NE(all.err.find("(1 enrolment)"), std::string::npos) << all.err;
  EXPECT_EQ(adsctl({"terminal", "revoke", "--public-key", key}).exit_code, 2);  // nothing active left

  auto show = adsctl({"audit", "show", "--last", "4"});
  EXPECT_NE(show.out.find("terminal_enrolled  1111111111  public_key=" + key + " label=front desk"), std::string::npos)
      << show.out;
  EXPECT_NE(show.out.find("terminal_revoked  2222222222"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("terminal_revoked  1111111111"), std::string::npos) << show.out;
  EXPECT_EQ(adsctl({"audit", "verify"}).exit_code, 0);
}

TEST_F(AdsctlTest, WrongOrExposedMasterKeyIsRefused) {
  init();
  const std::string other_db = dir.file("other.db"), other_key = dir.file("other.key");
  ASSERT_EQ(adsctl({"init", "--db=" + other_db, "--master-key=" + other_key}, false).exit_code, 0);
  auto wrong = adsctl({"retailer", "list", "--db=" + db_path, "--master-key=" + other_key}, false);
  EXPECT_EQ(wrong.exit_code, 2);
  EXPECT_NE(wrong.err.find("does not match"), std::string::npos) << wrong.err;
  ASSERT_EQ(::chmod(key_path.c_str(), 0644), 0);
  auto exposed = adsctl({"retailer", "list"});
  EXPECT_EQ(exposed.exit_code, 2);
  EXPECT_NE(exposed.err.find("chmod 600"), std::string::npos) << exposed.err;
}

TEST_F(AdsctlTest, KeysNeverAppearInClearInOutputOrDatabase) {
  init();
  std::vector<std::pair<std::string, std::string>> enrolled;  // image, pin
  for (int i = 0; i < 3; ++i) {
    const std::string image = dir.file("card" + std::to_string(i) + ".json");
    auto r = adsctl({"retailer", "enrol", "--card-image", image});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    enrolled.emplace_back(image, fields(r.out)["pin"]);
  }
  adsctl({"retailer", "list"});
  adsctl({"audit", "show"});
  adsctl({"audit", "verify"});
  Bytes db_bytes = test::read_file(db_path);
  for (const char* suffix : {"-wal", "-shm", "-journal"}) {
    const Bytes extra = test::read_file(db_path + suffix);
    db_bytes.insert(db_bytes.end(), extra.begin(), extra.end());
  }
  ASSERT_GT(db_bytes.size(), 0u);
  std::string output_lower(all_output.begin(), all_output.end());
  for (auto& ch : output_lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  int secrets = 0;
  for (const auto& [image, pin] : enrolled) {
    const Bytes key_file = stored_key_file(image, pin);
    auto card = must(cardsim::load_image(image));
    std::vector<Bytes> values;
    for (std::size_t at = 1; at < key_file.size(); at += 16) values.emplace_back(key_file.begin() + at, key_file.begin() + at + 16);
    for (const auto& file : card.files) {
      if (file.path == "3F00/000A") values.push_back(file.data);  // ADM1: the issuer code
    }
    ASSERT_EQ(values.size(), 5u);
    for (const auto& v : values) {
      ++secrets;
      EXPECT_FALSE(test::contains(db_bytes, v)) << "a key or code in clear in the database";
      EXPECT_FALSE(test::contains(all_output, v)) << "a key or code in raw bytes in adsctl output";
      EXPECT_EQ(output_lower.find(to_hex(v)), std::string::npos) << "a key or code in hex in adsctl output";
    }
    // The PIN is printed once, and never stored.
    EXPECT_FALSE(test::contains(db_bytes, view(pin)));
  }
  EXPECT_EQ(secrets, 15);
}

}  // namespace
}  // namespace cardperso::ads
