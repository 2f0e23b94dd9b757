#include "personalisation_fixture.hpp"

#include <sqlite3.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "cardperso/ads/store/audit_log.hpp"
#include "cardperso/ads/store/card_codes.hpp"
#include "cardperso/ads/store/card_records.hpp"
#include "cardperso/ads/store/card_stock.hpp"
#include "cardperso/ads/store/master_key.hpp"
#include "cardperso/ads/store/sqlite_db.hpp"
#include "cardperso/testing/sqlite_rows.hpp"

namespace cardperso::e2e {

namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

std::string ins_name(std::uint8_t ins) {
  switch (ins) {
    case 0xA4: return "SELECT";
    case 0xB0: return "READ BINARY";
    case 0xB2: return "READ RECORD";
    case 0xC0: return "GET RESPONSE";
    case 0xD6: return "UPDATE BINARY";
    case 0xDC: return "UPDATE RECORD";
    case 0xE0: return "CREATE FILE";
    case 0x20: return "VERIFY";
    case 0x88: return "RUN GSM";
    default: return "INS " + upper_hex(ByteView(&ins, 1));
  }
}

}  // namespace

std::string upper_hex(ByteView data) {
  std::string s = to_hex(data);
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

void PersonalisationFixture::SetUp() {
  SecureSessionFixture::SetUp();
  if (HasFatalFailure()) return;
  profile_path_ = env_or_empty("CARDPERSO_PROFILE");
  simread_path_ = env_or_empty("CARDPERSO_SIMREAD");
  ASSERT_FALSE(profile_path_.empty() || simread_path_.empty())
      << "set CARDPERSO_PROFILE (profiles/gsm-sim-default.json) and CARDPERSO_SIMREAD (ctest does)";
  receipt_dir_ = file("receipts");
  std::filesystem::create_directories(receipt_dir_);
  tap_ = std::make_unique<VpcdTap>(35963);
}

void PersonalisationFixture::TearDown() {
  stop_programs();
  scan_for_secrets();  // before the dump below, which must not print a leaked secret
  if (HasFailure() && tap_ && !secret_found_) {
    std::cerr << "----- APDUs through the tap -----\n";
    for (const auto& a : tap_->apdus()) {
      const std::uint8_t ins = a.command.size() > 1 ? a.command[1] : 0;
      // Only the header and the status word: the data may hold codes and keys.
      std::cerr << "  [" << a.connection << "] " << ins_name(ins) << " "
                << upper_hex(ByteView(a.command).first(std::min<std::size_t>(5, a.command.size()))) << " -> "
                << (a.response.size() >= 2 ? upper_hex(ByteView(a.response).last(2)) : std::string("(no answer)")) << "\n";
    }
    for (const char* log : {"ads.log", "dtd.log"}) {
      std::cerr << "----- " << log << " -----\n" << read_text_file(file(log));
    }
  }
  SecureSessionFixture::TearDown();  // stops the programs and the card-sims, removes the directory
  tap_.reset();
}

// ---- stock ----------------------------------------------------------------------------------------

std::vector<std::string> PersonalisationFixture::make_blank_cards(const std::string& secret_file,
                                                                  const std::string& dir_name,
                                                                  const std::string& prefix, int first, int count,
                                                                  bool new_secret) {
  std::vector<std::string> argv = {bin_.mkcards, "blank-batch", "--secret-file", secret_file, "--iccid-prefix", prefix,
                                   "--first", std::to_string(first), "--count", std::to_string(count),
                                   "--out", file(dir_name)};
  if (new_secret) argv.push_back("--new-secret");
  std::filesystem::create_directories(file(dir_name));
  const std::string name = "mkcards-" + std::to_string(++run_counter_);
  auto r = run_program(argv, file(name + ".err"));
  captured_.emplace_back(name + " stdout", r.out);
  EXPECT_EQ(r.exit_code, 0) << "cardperso-mkcards blank-batch: " << r.err;
  std::vector<std::string> iccids;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);)
    if (line.size() >= 18 && std::all_of(line.begin(), line.end(), ::isdigit)) iccids.push_back(line);
  EXPECT_EQ(iccids.size(), static_cast<std::size_t>(count)) << "mkcards output:\n" << r.out;
  return iccids;
}

std::string PersonalisationFixture::card_image(const std::string& dir_name, const std::string& iccid) const {
  return file(dir_name + "/" + iccid + ".json");
}

void PersonalisationFixture::import_batch(const std::string& name, const std::string& secret_file,
                                          const std::string& prefix, int first, int count, const std::string& retailer) {
  auto r = adsctl({"batch", "import-secret", "--name", name, "--secret-file", secret_file, "--iccid-prefix", prefix,
                   "--first", std::to_string(first), "--count", std::to_string(count)});
  EXPECT_EQ(r.exit_code, 0) << "adsctl batch import-secret: " << r.err;
  r = adsctl({"batch", "assign", "--name", name, "--retailer", retailer});
  EXPECT_EQ(r.exit_code, 0) << "adsctl batch assign: " << r.err;
}

std::vector<std::string> PersonalisationFixture::standard_stock(int count) {
  retailer_image_ = enrol();
  auto iccids = make_blank_cards(file("batch.secret"), "cards", kIccidPrefix, 1, count);
  import_batch("shop-1", file("batch.secret"), kIccidPrefix, 1, count, kSerial);
  auto r = adsctl({"pool", "add", "--kind", "imsi", "--prefix", "00101", "--first", "0000000001", "--last", "0000009999"});
  EXPECT_EQ(r.exit_code, 0) << "adsctl pool add imsi: " << r.err;
  r = adsctl({"pool", "add", "--kind", "msisdn", "--prefix", "4179", "--first", "0000001", "--last", "0009999"});
  EXPECT_EQ(r.exit_code, 0) << "adsctl pool add msisdn: " << r.err;
  return iccids;
}

// ---- requests -------------------------------------------------------------------------------------

std::string PersonalisationFixture::customer_file(const std::string& name, const std::string& date_of_birth) {
  json details = {{"name", name},
                  {"date_of_birth", date_of_birth},
                  {"address", "1 Main St, Bern"},
                  {"id_document", "passport"},
                  {"id_number", "X" + std::to_string(1000000 + run_counter_++)}};
  std::string path = file("customer-" + std::to_string(run_counter_) + ".json");
  std::ofstream(path) << details.dump();
  return path;
}

std::string PersonalisationFixture::modify_file(const std::string& iccid, const json& changes) {
  std::string path = file("modify-" + std::to_string(++run_counter_) + ".json");
  std::ofstream(path) << json{{"iccid", iccid}, {"changes", changes}}.dump();
  return path;
}

// ---- the session ----------------------------------------------------------------------------------

std::vector<std::string> PersonalisationFixture::new_card_keys() { return {"ok", kCustomerPin, kCustomerPin, kCustomerPuk}; }

bool PersonalisationFixture::start_personalisation(const std::vector<std::string>& dtd_requests,
                                                   const std::vector<std::string>& keypad) {
  std::vector<std::string> ads_args = {"--profile", profile_path_};
  ads_args.insert(ads_args.end(), ads_extra_args_.begin(), ads_extra_args_.end());
  const int ads_port = start_ads(ads_args);
  if (ads_port <= 0) return false;
  ads_port_ = ads_port;
  std::vector<std::string> args = dtd_requests;
  args.insert(args.end(), {"--receipt-dir", receipt_dir_, "--exit-after-last"});
  dtd_port_ = start_dtd(ads_port, "", true, args);
  if (dtd_port_ <= 0) return false;
  retailer_sim_ = start_card(retailer_image_, 0);
  if (retailer_sim_ == nullptr) return false;
  SteOptions options;
  options.keypad = keypad;
  start_ste(dtd_port_, options);
  return true;
}

void PersonalisationFixture::start_visit(int ads_link_port, const std::string& customer, bool first) {
  dtd_port_ = start_dtd(ads_link_port, "", true, {"--customer", customer, "--receipt-dir", receipt_dir_, "--exit-after-last"});
  ASSERT_GT(dtd_port_, 0);
  if (first) {
    retailer_sim_ = start_card(retailer_image_, 0);
    ASSERT_NE(retailer_sim_, nullptr);
  } else {
    reinsert(retailer_sim_);
  }
  SteOptions options;
  options.keypad = {kPin};
  for (const auto& k : new_card_keys()) options.keypad.push_back(k);
  start_ste(dtd_port_, options);
}

void PersonalisationFixture::remove_retailer_card() {
  ASSERT_TRUE(wait_display("Remove retailer card$", Millis(30000))) << display_text();
  pull(retailer_sim_);
}

std::size_t PersonalisationFixture::display_count(const std::string& text) const {
  const auto shown = display();
  return static_cast<std::size_t>(std::count(shown.begin(), shown.end(), text));
}

bool PersonalisationFixture::wait_display_count(const std::string& text, std::size_t n, Millis timeout) {
  static const std::regex never("x^");  // matches nothing: wait_for_line then only reads more lines
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (display_count(text) >= n) return true;
    if (Clock::now() >= deadline) return false;
    if (ste().wait_for_line(never, Millis(50))) return false;
    std::this_thread::sleep_for(Millis(10));  // stdout closed: wait_for_line returns at once
  }
}

std::optional<std::vector<std::string>> PersonalisationFixture::wait_display(const std::string& re, Millis timeout) {
  return ste().wait_for_line(std::regex("^\\[STE\\] " + re), timeout);
}

testing::CardSimProcess* PersonalisationFixture::insert_customer_card(const std::string& image, std::size_t nth,
                                                                    std::vector<std::string> extra_args) {
  if (!wait_display_count("Insert customer card", nth, Millis(30000))) {
    ADD_FAILURE() << "STE did not show 'Insert customer card' " << nth << " time(s)\n" << display_text();
    return nullptr;
  }
  sims_.push_back(std::make_unique<testing::CardSimProcess>(CARDPERSO_CARD_SIM_PATH, image, tap_->port(),
                                                            std::move(extra_args), next_card_stderr_path()));
  auto* sim = sims_.back().get();
  if (!sim->wait_for_event("inserted", std::chrono::seconds(10))) {
    ADD_FAILURE() << "customer card-sim did not report 'inserted'";
    return nullptr;
  }
  return sim;
}

void PersonalisationFixture::pull(testing::CardSimProcess* sim) {
  ASSERT_NE(sim, nullptr);
  sim->send_command("remove");
  EXPECT_TRUE(sim->wait_for_event("removed", std::chrono::seconds(5))) << "card-sim did not report 'removed'";
}

void PersonalisationFixture::reinsert(testing::CardSimProcess* sim) {
  ASSERT_NE(sim, nullptr);
  sim->send_command("insert");
  ASSERT_TRUE(sim->wait_for_event("inserted", std::chrono::seconds(10))) << "card-sim did not report 'inserted'";
  auto present = pcsc().wait_for_card_present(testing::kReader0, std::chrono::seconds(5));
  ASSERT_TRUE(present.ok() && *present) << "pcscd did not see the card again";
}

testing::CardSimProcess* PersonalisationFixture::personalise_one(const std::string& iccid, std::string* msisdn) {
  std::vector<std::string> keypad = {kPin};
  for (const auto& k : new_card_keys()) keypad.push_back(k);
  if (!start_personalisation({"--customer", customer_file("Alice Example", "1990-02-28")}, keypad)) {
    ADD_FAILURE() << "the personalisation did not start";
    return nullptr;
  }
  remove_retailer_card();
  auto* card = insert_customer_card(card_image("cards", iccid), 1);
  if (card == nullptr) return nullptr;
  auto shown = wait_display("Card personalised: MSISDN (\\d+)", std::chrono::seconds(60));
  if (!shown) {
    ADD_FAILURE() << "the card was not personalised\n" << display_text();
    return nullptr;
  }
  if (msisdn != nullptr) *msisdn = (*shown)[1];
  pull(card);
  expect_session_completed();
  return card;
}

void PersonalisationFixture::expect_session_completed() {
  auto code = ste().wait_exit(Millis(40000));
  EXPECT_EQ(code, 0) << "ste-firmware exit code\n" << display_text();
  EXPECT_TRUE(displayed("Session ended")) << display_text();
  auto dtd_code = dtd_->wait_exit(Millis(15000));
  EXPECT_EQ(dtd_code, 0) << "dtd-agent --exit-after-last exit code";
}

// ---- what the card got ----------------------------------------------------------------------------

std::vector<TappedApdu> PersonalisationFixture::apdus_of(int connection) const {
  std::vector<TappedApdu> out;
  for (auto& a : tap_->apdus())
    if (a.connection == connection) out.push_back(a);
  return out;
}

bool PersonalisationFixture::only_iccid_read(const std::vector<TappedApdu>& apdus) {
  return std::all_of(apdus.begin(), apdus.end(), [](const TappedApdu& a) {
    return a.command.size() >= 2 &&
           (a.command[1] == 0xA4 || a.command[1] == 0xB0 || a.command[1] == 0xC0 || a.command[1] == 0x86);
  });
}

std::vector<TappedApdu> PersonalisationFixture::script_apdus(const std::vector<TappedApdu>& apdus) {
  auto first = std::find_if(apdus.begin(), apdus.end(), [](const TappedApdu& a) {
    return a.command.size() >= 4 && a.command[1] == 0x20 && a.command[3] == 0x0A;
  });
  return {first, apdus.end()};
}

// ---- card images ----------------------------------------------------------------------------------

cardsim::CardImage PersonalisationFixture::load(const std::string& image_path) {
  auto image = cardsim::load_image(image_path);
  if (!image) {
    ADD_FAILURE() << image.error().message;
    return {};
  }
  return std::move(*image);
}

std::string PersonalisationFixture::image_text(const std::string& image_path) {
  return cardsim::image_to_json(load(image_path));
}

int PersonalisationFixture::adm_tries(const std::string& image_path) {
  auto image = load(image_path);
  auto it = image.tries_left.find(0x0A);
  return it == image.tries_left.end() ? -1 : it->second;
}

std::optional<Bytes> PersonalisationFixture::file_data(const std::string& image_path, const std::string& path) {
  for (const auto& f : load(image_path).files)
    if (f.path == path) return f.data;
  return std::nullopt;
}

// ---- read back ------------------------------------------------------------------------------------

PersonalisationFixture::SimRead PersonalisationFixture::simread(const std::vector<std::string>& args,
                                                                const std::optional<std::string>& pin) {
  const std::string n = std::to_string(++run_counter_);
  std::vector<std::string> argv = {simread_path_, "--reader", testing::kReader0, "--json"};
  if (pin) {
    const std::string pin_file = file("pin-" + n + ".txt");
    std::ofstream(pin_file) << *pin << "\n";
    ::chmod(pin_file.c_str(), 0600);
    argv.insert(argv.end(), {"--pin-file", pin_file});
  }
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = run_program(argv, file("simread-" + n + ".err"));
  captured_.emplace_back("simread-" + n + " stdout", r.out);
  SimRead out{r.exit_code, nullptr, r.out, r.err};
  if (r.exit_code == 0) {
    out.doc = json::parse(r.out, nullptr, false);
    if (out.doc.is_discarded() || !out.doc.is_object()) ADD_FAILURE() << "cardperso-simread --json printed: " << r.out;
  }
  return out;
}

// ---- database -------------------------------------------------------------------------------------

std::vector<DbRow> PersonalisationFixture::query(const std::string& sql, const std::vector<std::string>& params) {
  std::vector<DbRow> rows;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(db_.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << "cannot open the ADS database " << db_ << ": " << sqlite3_errmsg(db);
    sqlite3_close(db);
    return rows;
  }
  sqlite3_busy_timeout(db, 5000);
  auto read = testing::query_rows(db, sql, params);
  if (!read.error.empty()) ADD_FAILURE() << "ADS database: " << read.error;
  rows = std::move(read.rows);
  sqlite3_close(db);
  return rows;
}

std::int64_t PersonalisationFixture::count(const std::string& sql, const std::vector<std::string>& params) {
  auto rows = query(sql, params);
  if (rows.size() != 1 || rows[0].empty() || !rows[0][0]) return -1;
  return std::stoll(*rows[0][0]);
}

CardRow PersonalisationFixture::card_row(const std::string& iccid) {
  CardRow card;
  auto rows = query(
      // The issuer code is the card's: recorded (personalised), or pending and known to be on it (failed).
      "SELECT state, failed_step, failure_reason, attempts, "
      "  sealed_issuer_code IS NOT NULL OR (sealed_pending_code IS NOT NULL AND code_on_card = 'pending') "
      "FROM cards WHERE iccid = ?1",
      {iccid});
  if (rows.empty()) return card;
  card.found = true;
  card.state = rows[0][0].value_or("");
  card.failed_step = rows[0][1].value_or("");
  card.failure_reason = rows[0][2].value_or("");
  card.attempts = std::stoi(rows[0][3].value_or("-1"));
  card.has_issuer_code = rows[0][4].value_or("0") == "1";
  return card;
}

std::vector<RecordRow> PersonalisationFixture::records(const std::string& iccid) {
  std::vector<RecordRow> out;
  for (auto& r : query("SELECT version, imsi, msisdn, spn, plmnsel, retailer_serial, session_id FROM card_records "
                       "WHERE iccid = ?1 ORDER BY version",
                       {iccid})) {
    RecordRow rec;
    rec.version = std::stoi(r[0].value_or("0"));
    rec.imsi = r[1].value_or("");
    rec.msisdn = r[2].value_or("");
    rec.spn = r[3].value_or("");
    rec.plmnsel = r[4].value_or("");
    rec.retailer_serial = r[5].value_or("");
    if (r[6]) rec.session_id = std::stoll(*r[6]);
    out.push_back(std::move(rec));
  }
  return out;
}

std::vector<AllocationRow> PersonalisationFixture::allocations() {
  std::vector<AllocationRow> out;
  for (auto& r : query("SELECT kind, value, state, iccid FROM number_allocations ORDER BY kind, value"))
    out.push_back({r[0].value_or(""), r[1].value_or(""), r[2].value_or(""), r[3]});
  return out;
}

void PersonalisationFixture::expect_no_number_lost() {
  for (auto& pool : query("SELECT id, kind, next - first FROM number_pools")) {
    EXPECT_EQ(count("SELECT count(*) FROM number_allocations WHERE pool_id = ?1", {*pool[0]}), std::stoll(*pool[2]))
        << *pool[1] << " pool " << *pool[0] << ": a number was handed out without its allocation row";
  }
  for (const auto& a : allocations()) {
    if (a.state == "reserved" || a.state == "retired") {
      // Kept for a failed card (its retry reuses them) or retired with a spoiled one.
      ASSERT_TRUE(a.iccid.has_value()) << a.kind << " " << a.value << " " << a.state << " for no card";
      EXPECT_EQ(card_row(*a.iccid).state, a.state == "reserved" ? "failed" : "spoiled")
          << a.kind << " " << a.value << " is " << a.state << " for card " << *a.iccid;
    } else if (a.state == "released") {
      EXPECT_FALSE(a.iccid.has_value()) << a.kind << " " << a.value << " released but still tied to a card";
    } else if (a.state == "committed") {
      ASSERT_TRUE(a.iccid.has_value()) << a.kind << " " << a.value << " committed to no card";
      EXPECT_EQ(card_row(*a.iccid).state, "personalised") << a.kind << " " << a.value << " committed to card " << *a.iccid;
      auto recs = records(*a.iccid);
      ASSERT_FALSE(recs.empty()) << "card " << *a.iccid << " holds " << a.value << " but has no record";
      EXPECT_EQ(a.kind == "imsi" ? recs.back().imsi : recs.back().msisdn, a.value)
          << a.kind << " " << a.value << " committed to card " << *a.iccid << " but its record says otherwise";
    }
  }
  // And the other way: every personalised card's numbers are committed to it.
  for (auto& c : query("SELECT iccid FROM cards WHERE state = 'personalised'")) {
    auto recs = records(*c[0]);
    ASSERT_FALSE(recs.empty()) << "personalised card " << *c[0] << " has no record";
    for (const auto& [kind, value] : {std::pair{"imsi", recs.back().imsi}, std::pair{"msisdn", recs.back().msisdn}})
      EXPECT_EQ(count("SELECT count(*) FROM number_allocations WHERE kind = ?1 AND value = ?2 AND iccid = ?3 AND "
                      "state = 'committed'",
                      {kind, value, *c[0]}),
                1)
          << kind << " " << value << " of card " << *c[0] << " is not committed to it";
  }
}

// ---- the store's secrets --------------------------------------------------------------------------

KeysFromStore PersonalisationFixture::keys_of(const std::string& iccid, int version) {
  KeysFromStore out;
  auto db = ads::Database::open(db_, ads::OpenMode::MustExist);
  auto key = ads::MasterKey::load_file(master_key_);
  if (!db || !key) {
    ADD_FAILURE() << "cannot open the ADS store: " << (db ? key.error().message : db.error().message);
    return out;
  }
  ads::AuditLog audit(*db, *key);
  ads::CardRecords store(*db, *key, audit, "e2e-check");
  auto keys = store.keys_of(iccid, version);
  if (!keys) {
    ADD_FAILURE() << "keys_of " << iccid << " v" << version << ": " << keys.error().message;
    return out;
  }
  out.ki = std::move(keys->ki);
  out.opc = std::move(keys->opc);
  return out;
}

SecretBytes PersonalisationFixture::opening_code(const std::string& iccid, bool modification) {
  auto db = ads::Database::open(db_, ads::OpenMode::MustExist);
  auto key = ads::MasterKey::load_file(master_key_);
  if (!db || !key) {
    ADD_FAILURE() << "cannot open the ADS store: " << (db ? key.error().message : db.error().message);
    return {};
  }
  ads::AuditLog audit(*db, *key);
  ads::CardStock stock(*db, *key, audit, "e2e-check");
  auto lookup = stock.inspect_card_for(kSerial, iccid,
                                       modification ? ads::CardPurpose::Modification : ads::CardPurpose::NewCard);
  if (!lookup || lookup->refused()) {
    ADD_FAILURE() << "inspect_card_for " << iccid << ": " << (lookup ? lookup->message : lookup.error().message);
    return {};
  }
  return std::move(lookup->opening.code);
}

SecretBytes PersonalisationFixture::master_code(const std::string& secret_file, const std::string& iccid) {
  std::string text = read_text_file(secret_file);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.pop_back();
  auto secret = from_hex(text);
  if (!secret || secret->size() != ads::kBatchSecretSize) {
    ADD_FAILURE() << "batch secret file " << secret_file << " is not 32 hex digits";
    return {};
  }
  SecretBytes code = ads::derive_master_code(*secret, iccid);
  secure_wipe(secret->data(), secret->size());
  return code;
}

// ---- secrets never written --------------------------------------------------------------------------

std::map<std::string, std::string> PersonalisationFixture::every_output() {
  std::map<std::string, std::string> out;
  for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
    const std::string name = entry.path().filename().string();
    const bool output = name.ends_with(".log") || name.ends_with(".stderr") || name.ends_with(".err");
    if (entry.is_regular_file() && output) out[name] = read_text_file(entry.path().string());
  }
  for (const auto& entry : std::filesystem::directory_iterator(receipt_dir_))
    out["receipts/" + entry.path().filename().string()] = read_text_file(entry.path().string());
  for (const auto& s : ste_runs_) out[s->name() + " stdout"] = s->stdout_text();
  if (dtd_) out["dtd-agent stdout"] = dtd_->stdout_text();
  if (ads_) out["ads-server stdout"] = ads_->stdout_text();
  return out;
}

void PersonalisationFixture::expect_absent_everywhere(const std::vector<std::pair<std::string, std::string>>& secrets) {
  for (const auto& [name, text] : every_output()) {
    for (const auto& [what, secret] : secrets) {
      ASSERT_FALSE(secret.empty()) << what;
      std::string lower = secret;
      for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      EXPECT_EQ(text.find(secret), std::string::npos) << what << " appears in " << name;
      EXPECT_EQ(text.find(lower), std::string::npos) << what << " appears in " << name;
    }
  }
}

}  // namespace cardperso::e2e
