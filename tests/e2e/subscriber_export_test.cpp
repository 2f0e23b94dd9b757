// `adsctl export subscribers` as the issuer runs it: a real ADS database made by adsctl, cards
// personalised through the store (as ads-server records them), and the export file opened by an
// independent implementation — Python's `cryptography` — with the transport key alone.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cardperso/ads/store/audit_log.hpp"
#include "cardperso/ads/store/card_codes.hpp"
#include "cardperso/ads/store/card_records.hpp"
#include "cardperso/ads/store/card_stock.hpp"
#include "cardperso/ads/store/master_key.hpp"
#include "cardperso/ads/store/migrations.hpp"
#include "cardperso/ads/store/number_pools.hpp"
#include "cardperso/common/crypto.hpp"
#include "cardperso/testing/run_program.hpp"

namespace cardperso::e2e {
namespace {

using nlohmann::json;

const std::string kRetailer = "8949000000000000012";
const std::string kIccidPrefix = "8988211";
constexpr int kCards = 5;  // 1-3 personalised (1 also modified), 4 blank, 5 failed

// Opens every sealed field of an export with the key file; prints JSON. A field that does not open
// (wrong key, moved, edited) is null, so the test sees each failure as data.
constexpr const char* kOpenExportPy = R"PY(import json, sys
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

key = bytes.fromhex(open(sys.argv[1]).read().strip())
aesgcm = AESGCM(key)
ecb = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
out = {"kcv": (ecb.update(bytes(16)) + ecb.finalize())[:3].hex().upper(), "comments": [], "rows": []}

def open_field(name, iccid, imsi, field):
    raw = bytes.fromhex(field)
    if len(raw) != 12 + 16 + 16:
        return None
    aad = b"cardperso-export-v1\x00" + name.encode() + b"\x00" + iccid.encode() + b"\x00" + imsi.encode()
    try:
        return aesgcm.decrypt(raw[:12], raw[12:], aad).hex()
    except InvalidTag:
        return None

for line in open(sys.argv[2]).read().splitlines():
    if line.startswith("#"):
        out["comments"].append(line)
    elif "header" not in out:
        out["header"] = line
    else:
        iccid, imsi, msisdn, algorithm, ki, opc = line.split(",")
        out["rows"].append({"iccid": iccid, "imsi": imsi, "msisdn": msisdn, "algorithm": algorithm,
                            "ki_field": ki, "opc_field": opc,
                            "ki": open_field("ki", iccid, imsi, ki), "opc": open_field("opc", iccid, imsi, opc)})
print(json.dumps(out))
)PY";

struct Subscriber {
  std::string iccid, imsi, msisdn, ki, opc;  // ki, opc: lower-case hex
};

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

bool holds(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

template <class T>
T must(Result<T> r) {
  if (!r) throw std::runtime_error("unexpected error: " + r.error().message);
  return std::move(r).value();
}
void must(Result<void> r) {
  if (!r) throw std::runtime_error("unexpected error: " + r.error().message);
}

class SubscriberExport : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* adsctl_path = std::getenv("CARDPERSO_ADSCTL");
    ASSERT_NE(adsctl_path, nullptr) << "set CARDPERSO_ADSCTL (ctest does)";
    adsctl_ = adsctl_path;
    std::string pattern = (std::filesystem::temp_directory_path() / "cardperso-export-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    db_ = file("ads.db");
    master_key_ = file("ads-master.key");
    write_file(file("open_export.py"), kOpenExportPy, 0600);
    make_stock();
    if (HasFatalFailure()) return;
    personalise();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string file(const std::string& name) const { return dir_ + "/" + name; }

  testing::CommandRun adsctl(std::vector<std::string> args) {
    args.push_back("--db=" + db_);
    args.push_back("--master-key=" + master_key_);
    return testing::run_command(adsctl_, args, file("adsctl.err"), &transcript_);
  }

  // adsctl init, a retailer, a secret batch of kCards assigned to it, IMSI and MSISDN pools.
  void make_stock() {
    auto r = adsctl({"init"});
    ASSERT_EQ(r.exit_code, 0) << "adsctl init: " << r.err;
    r = adsctl({"retailer", "enrol", "--card-image", file("retailer.json"), "--serial", kRetailer});
    ASSERT_EQ(r.exit_code, 0) << "adsctl retailer enrol: " << r.err;
    write_file(file("batch.secret"), to_hex(crypto::random_bytes(16)) + "\n", 0600);
    r = adsctl({"batch", "import-secret", "--name", "B1", "--secret-file", file("batch.secret"), "--iccid-prefix",
                kIccidPrefix, "--first", "1", "--count", std::to_string(kCards)});
    ASSERT_EQ(r.exit_code, 0) << "adsctl batch import-secret: " << r.err;
    r = adsctl({"batch", "assign", "--name", "B1", "--retailer", kRetailer});
    ASSERT_EQ(r.exit_code, 0) << "adsctl batch assign: " << r.err;
    r = adsctl({"pool", "add", "--kind", "imsi", "--prefix", "00101", "--first", "0000000001", "--last", "0000009999"});
    ASSERT_EQ(r.exit_code, 0) << "adsctl pool add imsi: " << r.err;
    r = adsctl({"pool", "add", "--kind", "msisdn", "--prefix", "4179", "--first", "0000001", "--last", "0009999"});
    ASSERT_EQ(r.exit_code, 0) << "adsctl pool add msisdn: " << r.err;
  }

  // What ads-server records after a script: cards 1-3 personalised with fresh Ki/OPc, card 1 then
  // modified (a new MSISDN: its latest version is what counts), card 5 failed; card 4 stays blank.
  void personalise() {
    auto key = must(ads::MasterKey::load_file(master_key_));
    auto db = must(ads::open_ads_database(db_, ads::OpenMode::MustExist));
    ads::AuditLog audit(db, key);
    ads::CardStock stock(db, key, audit, "e2e-test");
    ads::CardRecords records(db, key, audit, "e2e-test");
    ads::NumberPools pools(db, audit, "e2e-test");
    for (int i = 1; i <= kCards; ++i) iccids_.push_back(must(ads::batch_iccid(kIccidPrefix, i)));
    for (int i = 0; i < 3; ++i) {
      const std::string& iccid = iccids_[i];
      must(stock.begin_personalisation(iccid, ads::CardPurpose::NewCard));
      auto numbers = must(records.reserve_numbers(iccid));
      ads::PersonalisationRecord r;
      r.iccid = iccid;
      r.retailer_serial = kRetailer;
      r.content.imsi = numbers.imsi;
      r.content.msisdn = numbers.msisdn;
      r.content.ki = crypto::random_secret(16);
      r.content.opc = crypto::random_secret(16);
      r.content.spn = "cardperso";
      r.content.plmnsel = "00f110ffffff";
      r.content.profile = "gsm-sim-default";
      r.content.files = {{"3F00/7F20/6F07", ads::FileValue::Clear, "080910100000000010"},
                         {"3F00/7F20/FF02", ads::FileValue::Ki, ""},
                         {"3F00/7F20/FF01", ads::FileValue::Opc, ""}};
      r.issuer_code = crypto::random_secret(8);
      r.personal_data_json = R"({"name":"Subscriber )" + std::to_string(i + 1) + R"("})";
      must(records.record_personalisation(r));
      expected_[iccid] = {iccid, numbers.imsi, numbers.msisdn, to_hex(r.content.ki.view()),
                          to_hex(r.content.opc.view())};
      if (i == 0) {
        must(stock.begin_personalisation(iccid, ads::CardPurpose::Modification));
        ads::ModificationRecord m;
        m.iccid = iccid;
        m.retailer_serial = kRetailer;
        m.content = r.content;
        m.content.ki.wipe();  // unchanged
        m.content.opc.wipe();
        m.content.msisdn =
            must(db.with_transaction([&] { return pools.allocate(ads::NumberKind::Msisdn, iccid); }));
        ASSERT_EQ(must(records.record_modification(m)), 2);
        expected_[iccid].msisdn = m.content.msisdn;
      }
    }
    must(stock.begin_personalisation(iccids_[4], ads::CardPurpose::NewCard));
    must(stock.mark_failed(iccids_[4], {"3/17", "card removed", false, {}}));

    // The store's own view of every personalised card (latest version) is what the export must hold.
    for (const auto& [iccid, want] : expected_) {
      auto history = must(records.history(iccid));
      ASSERT_FALSE(history.empty());
      auto keys = must(records.keys_of(iccid, history.back().version));
      EXPECT_EQ(history.back().imsi, want.imsi);
      EXPECT_EQ(history.back().msisdn, want.msisdn);
      EXPECT_EQ(to_hex(keys.ki.view()), want.ki);
      EXPECT_EQ(to_hex(keys.opc.view()), want.opc);
    }
  }

  static void write_file(const std::string& path, const std::string& content, unsigned mode) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
    ::chmod(path.c_str(), mode);
  }
  static std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }
  static unsigned mode_of(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 ? (st.st_mode & 07777) : 0;
  }

  // The KCV `new-transport-key` printed (stdout "kcv=XXXXXX").
  std::string new_transport_key(const std::string& path) {
    auto r = adsctl({"export", "new-transport-key", path});
    EXPECT_EQ(r.exit_code, 0) << "adsctl export new-transport-key: " << r.err;
    EXPECT_EQ(r.out.size(), 11u) << r.out;
    EXPECT_EQ(r.out.rfind("kcv=", 0), 0u) << r.out;
    return r.out.size() == 11 ? r.out.substr(4, 6) : "";
  }

  json open_with_python(const std::string& key_file, const std::string& export_file) {
    auto r = testing::run_command("/usr/bin/python3", {file("open_export.py"), key_file, export_file},
                                  file("python.err"));
    EXPECT_EQ(r.exit_code, 0) << "python3 open_export.py: " << r.err;
    if (r.exit_code != 0) return json::object();
    return json::parse(r.out);
  }

  // Ki, OPc and the given key nowhere in text: lower- or upper-case hex, or raw bytes.
  void expect_no_secret_in(const std::string& text, const std::string& what,
                           const std::vector<std::string>& more = {}) {
    std::vector<std::string> secrets = more;
    for (const auto& [iccid, s] : expected_) {
      secrets.push_back(s.ki);
      secrets.push_back(s.opc);
    }
    for (const auto& secret_hex : secrets) {
      const Bytes raw = hex(secret_hex);
      EXPECT_FALSE(holds(text, secret_hex)) << what << " holds a secret in lower-case hex";
      EXPECT_FALSE(holds(text, upper(secret_hex))) << what << " holds a secret in upper-case hex";
      EXPECT_FALSE(holds(text, std::string(raw.begin(), raw.end()))) << what << " holds a secret's raw bytes";
    }
  }

  std::string adsctl_;
  std::string dir_, db_, master_key_;
  std::string transcript_;  // everything adsctl printed
  std::vector<std::string> iccids_;
  std::map<std::string, Subscriber> expected_;  // the personalised cards, by ICCID
};

TEST_F(SubscriberExport, TheFileDecryptsWithTheTransportKeyToExactlyTheRecords) {
  const std::string key_file = file("transport.key");
  const std::string kcv = new_transport_key(key_file);
  EXPECT_EQ(mode_of(key_file), 0600u);
  const std::string key_text = read_file(key_file);
  ASSERT_EQ(key_text.size(), 65u);
  EXPECT_EQ(key_text.find_first_not_of("0123456789abcdef"), 64u);
  EXPECT_EQ(key_text.back(), '\n');

  const std::string out = file("subscribers.csv");
  auto r = adsctl({"export", "subscribers", "--transport-key", key_file, "--out", out});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "exported 3 subscribers to " + out + " (Ki and OPc sealed, kcv=" + kcv + ")\n");
  EXPECT_EQ(mode_of(out), 0600u);

  const json opened = open_with_python(key_file, out);
  ASSERT_TRUE(opened.contains("rows"));
  EXPECT_EQ(opened["kcv"], kcv) << "the KCV adsctl printed is not AES-256-ECB_K(0^16)";
  ASSERT_GE(opened["comments"].size(), 4u);
  EXPECT_EQ(opened["comments"][0], "# cardperso subscriber export v1");
  EXPECT_EQ(opened["comments"][1], "# keys: aes-256-gcm kcv=" + kcv);
  EXPECT_EQ(opened["comments"][2], "# records: 3");
  EXPECT_EQ(opened["comments"][3].get<std::string>().rfind("# created: ", 0), 0u);
  EXPECT_EQ(opened["header"], "iccid,imsi,msisdn,algorithm,ki,opc");

  ASSERT_EQ(opened["rows"].size(), expected_.size());
  std::set<std::string> seen;
  for (const auto& row : opened["rows"]) {
    const std::string iccid = row["iccid"];
    ASSERT_TRUE(expected_.count(iccid)) << "exported a card that is not personalised: " << iccid;
    EXPECT_TRUE(seen.insert(iccid).second) << iccid << " exported twice";
    const Subscriber& want = expected_.at(iccid);
    EXPECT_EQ(row["imsi"], want.imsi) << iccid;
    EXPECT_EQ(row["msisdn"], want.msisdn) << iccid << " (the latest record version's)";
    EXPECT_EQ(row["algorithm"], "milenage");
    EXPECT_EQ(row["ki_field"].get<std::string>().size(), 88u);
    EXPECT_EQ(row["opc_field"].get<std::string>().size(), 88u);
    EXPECT_EQ(row["ki"], want.ki) << iccid << ": Ki does not decrypt to the store's";
    EXPECT_EQ(row["opc"], want.opc) << iccid << ": OPc does not decrypt to the store's";
  }

  auto audit = adsctl({"audit", "show", "--last", "5"});
  ASSERT_EQ(audit.exit_code, 0) << audit.err;
  EXPECT_TRUE(holds(audit.out, "transport_key_created  " + key_file + "  kcv=" + kcv)) << audit.out;
  EXPECT_TRUE(holds(audit.out, "subscribers_exported  " + out + "  records=3 kcv=" + kcv)) << audit.out;
  EXPECT_EQ(adsctl({"audit", "verify"}).exit_code, 0);
  expect_no_secret_in(transcript_, "adsctl's output", {key_text.substr(0, 64)});
}

TEST_F(SubscriberExport, WithoutTheKeyNothingOfKiOrOpcIsReadable) {
  const std::string key_file = file("transport.key");
  new_transport_key(key_file);
  const std::string out = file("subscribers.csv");
  auto r = adsctl({"export", "subscribers", "--transport-key", key_file, "--out", out});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string text = read_file(out);
  expect_no_secret_in(text, "the export file", {read_file(key_file).substr(0, 64)});

  // Another key opens nothing (the GCM tag does not verify), and its KCV says so before trying.
  const std::string other_key = file("other.key");
  const std::string other_kcv = new_transport_key(other_key);
  const json wrong = open_with_python(other_key, out);
  ASSERT_EQ(wrong["rows"].size(), 3u);
  EXPECT_NE(wrong["comments"][1], "# keys: aes-256-gcm kcv=" + other_kcv);
  for (const auto& row : wrong["rows"]) {
    EXPECT_TRUE(row["ki"].is_null()) << row["iccid"] << ": Ki opened under another key";
    EXPECT_TRUE(row["opc"].is_null()) << row["iccid"] << ": OPc opened under another key";
  }

  // The ki fields of the first two lines swapped, and the third line's ki and opc swapped: none of the
  // moved fields opens (the associated data binds each to its column, ICCID and IMSI); the rest do.
  auto lines = lines_of(text);
  ASSERT_EQ(lines.size(), 5u + 3u);
  std::vector<std::vector<std::string>> rows;
  for (std::size_t i = 5; i < lines.size(); ++i) {
    std::vector<std::string> fields;
    std::istringstream in(lines[i]);
    for (std::string f; std::getline(in, f, ',');) fields.push_back(f);
    ASSERT_EQ(fields.size(), 6u) << lines[i];
    rows.push_back(fields);
  }
  std::swap(rows[0][4], rows[1][4]);
  std::swap(rows[2][4], rows[2][5]);
  std::string moved;
  for (std::size_t i = 0; i < 5; ++i) moved += lines[i] + "\n";
  for (const auto& f : rows) moved += f[0] + "," + f[1] + "," + f[2] + "," + f[3] + "," + f[4] + "," + f[5] + "\n";
  write_file(file("moved.csv"), moved, 0600);
  const json opened = open_with_python(key_file, file("moved.csv"));
  ASSERT_EQ(opened["rows"].size(), 3u);
  EXPECT_TRUE(opened["rows"][0]["ki"].is_null()) << "a ki field moved to another line opened";
  EXPECT_TRUE(opened["rows"][1]["ki"].is_null()) << "a ki field moved to another line opened";
  EXPECT_TRUE(opened["rows"][2]["ki"].is_null()) << "an opc field moved to the ki column opened";
  EXPECT_TRUE(opened["rows"][2]["opc"].is_null()) << "a ki field moved to the opc column opened";
  EXPECT_EQ(opened["rows"][0]["opc"], expected_.at(opened["rows"][0]["iccid"]).opc);
  EXPECT_EQ(opened["rows"][1]["opc"], expected_.at(opened["rows"][1]["iccid"]).opc);
}

TEST_F(SubscriberExport, ClearKeysOnlyWithTheFlagAndAudited) {
  const std::string out = file("clear.csv");
  // Neither a transport key nor --clear-keys: a usage error that says what to pass; nothing written.
  auto r = adsctl({"export", "subscribers", "--out", out});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(holds(r.err, "--transport-key FILE")) << r.err;
  EXPECT_TRUE(holds(r.err, "--clear-keys")) << r.err;
  EXPECT_FALSE(std::filesystem::exists(out));

  r = adsctl({"export", "subscribers", "--clear-keys", "--out", out});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(holds(r.err, "WARNING")) << r.err;
  EXPECT_TRUE(holds(r.err, "in clear")) << r.err;
  EXPECT_EQ(mode_of(out), 0600u);
  const auto lines = lines_of(read_file(out));
  ASSERT_EQ(lines.size(), 5u + 3u);
  EXPECT_EQ(lines[1], "# keys: CLEAR");
  EXPECT_EQ(lines[2], "# records: 3");
  EXPECT_EQ(lines[4], "iccid,imsi,msisdn,algorithm,ki,opc");
  std::set<std::string> want;
  for (const auto& [iccid, s] : expected_) {
    want.insert(iccid + "," + s.imsi + "," + s.msisdn + ",milenage," + s.ki + "," + s.opc);
  }
  EXPECT_EQ(std::set<std::string>(lines.begin() + 5, lines.end()), want);
  // adsctl itself prints no key even then: only the file holds them.
  expect_no_secret_in(transcript_, "adsctl's output");

  auto audit = adsctl({"audit", "show", "--last", "3"});
  ASSERT_EQ(audit.exit_code, 0) << audit.err;
  EXPECT_TRUE(holds(audit.out, "subscribers_exported_clear  " + out + "  records=3 keys=clear")) << audit.out;
  auto verified = adsctl({"audit", "verify"});
  EXPECT_EQ(verified.exit_code, 0) << verified.err;
  EXPECT_TRUE(holds(verified.out, "audit log intact")) << verified.out;
}

TEST_F(SubscriberExport, RefusesToOverwriteAndBadKeyFiles) {
  const std::string key_file = file("transport.key");
  new_transport_key(key_file);
  const std::string key_text = read_file(key_file);
  // new-transport-key never replaces a key file.
  auto r = adsctl({"export", "new-transport-key", key_file});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(holds(r.err, "already exists")) << r.err;
  EXPECT_EQ(read_file(key_file), key_text);

  // An existing --out is refused and left as it was.
  const std::string out = file("existing.csv");
  write_file(out, "an earlier export\n", 0600);
  r = adsctl({"export", "subscribers", "--transport-key", key_file, "--out", out});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(holds(r.err, out + " already exists; refusing to overwrite it")) << r.err;
  EXPECT_EQ(read_file(out), "an earlier export\n");

  struct BadKey {
    std::string name, content;
    unsigned mode;
    std::string message;
  };
  const std::vector<BadKey> bad = {
      {"short.key", std::string(32, 'a') + "\n", 0600, "must hold 64 hex digits (an AES-256 key); it holds 32"},
      {"long.key", std::string(66, 'a') + "\n", 0600, "must hold 64 hex digits (an AES-256 key); it holds 66"},
      {"nothex.key", std::string(63, 'a') + "g\n", 0600, "must hold 64 hex digits (an AES-256 key); it holds other"},
      {"shared.key", key_text, 0640, "may be read by group or others; run `chmod 600"},
  };
  for (const auto& k : bad) {
    write_file(file(k.name), k.content, k.mode);
    r = adsctl({"export", "subscribers", "--transport-key", file(k.name), "--out", file(k.name + ".csv")});
    EXPECT_EQ(r.exit_code, 2) << k.name;
    EXPECT_TRUE(holds(r.err, k.message)) << k.name << ": " << r.err;
    EXPECT_FALSE(std::filesystem::exists(file(k.name + ".csv"))) << k.name;
  }
  r = adsctl({"export", "subscribers", "--transport-key", file("missing.key"), "--out", file("missing.csv")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(holds(r.err, "not found; make one with `adsctl export new-transport-key")) << r.err;
  r = adsctl({"export", "subscribers", "--transport-key", key_file, "--clear-keys", "--out", file("both.csv")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(holds(r.err, "either --transport-key or --clear-keys")) << r.err;

  // No refusal left a temporary file behind, and none was audited as an export.
  for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
    EXPECT_FALSE(holds(entry.path().filename().string(), ".tmp-")) << entry.path();
  }
  auto audit = adsctl({"audit", "show", "--last", "20"});
  EXPECT_FALSE(holds(audit.out, "subscribers_exported")) << audit.out;
}

}  // namespace
}  // namespace cardperso::e2e
