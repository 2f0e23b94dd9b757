#include "crash_checks.hpp"

#include <sqlite3.h>

#include <chrono>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "cardperso/ads/store/audit_log.hpp"
#include "cardperso/ads/store/card_records.hpp"
#include "cardperso/ads/store/master_key.hpp"
#include "cardperso/ads/store/sqlite_db.hpp"
#include "cardperso/common/bytes.hpp"
#include "cardperso/common/crypto.hpp"
#include "cardperso/common/milenage.hpp"
#include "cardperso/perso/sim_encoding.hpp"
#include "cardperso/testing/run_program.hpp"
#include "cardperso/testing/sql_reader.hpp"

namespace cardperso::crash {
namespace {

using Row = testing::SqlRow;

// Read-only SQL on the database, SQLite file or PostgreSQL (testing::SqlReader).
class ReadOnlyDb {
 public:
  explicit ReadOnlyDb(const std::string& location) : reader_(location), error_(reader_.open_error()) {}
  const std::string& error() const { return error_; }
  bool postgres() const { return reader_.postgres(); }

  std::vector<Row> query(const std::string& sql, const std::vector<std::string>& params = {}) {
    auto read = reader_.query(sql, params);
    if (!read.error.empty()) error_ = read.error;
    return std::move(read.rows);
  }

 private:
  testing::SqlReader reader_;
  std::string error_;
};

const cardsim::CardFile* find_file(const cardsim::CardImage& image, std::string_view path) {
  for (const auto& f : image.files)
    if (f.path == path) return &f;
  return nullptr;
}

std::optional<std::string> card_imsi(const cardsim::CardImage& image) {
  const auto* f = find_file(image, "3F00/7F20/6F07");
  if (f == nullptr) return std::nullopt;
  auto imsi = perso::decode_imsi(f->data);
  if (!imsi) return std::nullopt;
  return *imsi;
}

std::optional<std::string> card_msisdn(const cardsim::CardImage& image) {
  const auto* f = find_file(image, "3F00/7F10/6F40");
  if (f == nullptr || f->record_length == 0 || f->data.size() < f->record_length) return std::nullopt;
  auto m = perso::decode_msisdn_record(ByteView(f->data).first(f->record_length));
  if (!m) return std::nullopt;
  std::string number = m->number;
  if (!number.empty() && number.front() == '+') number.erase(0, 1);
  return number;
}

// SELECT DF_GSM, VERIFY CHV1 with the PIN the test's keypad typed, RUN GSM ALGORITHM, GET RESPONSE.
Result<Bytes> run_gsm(cardsim::SimCard& card, ByteView rand) {
  card.power_on();
  auto sw_of = [](const Bytes& r) { return r.size() >= 2 ? get_u16(ByteView(r), r.size() - 2) : 0; };
  auto select = card.transmit(from_hex("A0A40000027F20").value());
  if ((sw_of(select) & 0xFF00) != 0x9F00) return fail(fmt::format("SELECT 7F20: SW {:04X}", sw_of(select)));
  auto verify = card.transmit(from_hex("A02000010832343638FFFFFFFF").value());
  if (sw_of(verify) != 0x9000) return fail(fmt::format("VERIFY CHV1: SW {:04X}", sw_of(verify)));
  Bytes command = from_hex("A088000010").value();
  command.insert(command.end(), rand.begin(), rand.end());
  auto gsm = card.transmit(command);
  if (sw_of(gsm) != 0x9F0C) return fail(fmt::format("RUN GSM: SW {:04X}", sw_of(gsm)));
  auto response = card.transmit(from_hex("A0C000000C").value());
  if (response.size() != 14 || sw_of(response) != 0x9000)
    return fail(fmt::format("GET RESPONSE: {} bytes, SW {:04X}", response.size(), sw_of(response)));
  response.resize(12);
  return response;
}

long long as_int(const std::optional<std::string>& v) { return v ? std::stoll(*v) : -1; }

}  // namespace

StoreCheck check_store(const StorePaths& paths, const StreamReport& stream) {
  StoreCheck out;
  auto problem = [&out](std::string text) {
    if (out.problems.size() < 60) out.problems.push_back(std::move(text));
  };

  // The programs' view: the audit chain is whole.
  if (auto verified = testing::run_to_success(
          {paths.adsctl, "audit", "verify", "--db", paths.db, "--master-key", paths.master_key},
          std::chrono::seconds(60));
      !verified)
    problem("adsctl audit verify: " + verified.error().message);

  ReadOnlyDb db(paths.db);
  if (!db.error().empty()) {
    problem(db.error());
    return out;
  }
  // The file's own soundness on SQLite. PostgreSQL checks references on every write (none can be
  // deferred in this schema) and its pages are its own business; what follows checks the content.
  if (!db.postgres()) {
    auto integrity = db.query("PRAGMA integrity_check");
    if (integrity.size() != 1 || integrity[0].empty() || integrity[0][0] != "ok") {
      std::string text;
      for (const auto& r : integrity) text += (r.empty() || !r[0] ? "?" : *r[0]) + "; ";
      problem("PRAGMA integrity_check: " + text);
    }
    if (auto fk = db.query("PRAGMA foreign_key_check"); !fk.empty())
      problem(fmt::format("PRAGMA foreign_key_check: {} rows break a reference", fk.size()));
  }

  // Card states, and the cards behind them.
  std::map<std::string, std::string> state_of;
  for (auto& r : db.query("SELECT iccid, state FROM cards")) state_of[r[0].value_or("")] = r[1].value_or("");
  for (const auto& [iccid, state] : state_of) {
    ++out.card_states[state];
    if (state == "in_progress") problem("card " + iccid + " is still in_progress after a clean stop");
    if (state != "blank" && stream.cards.count(iccid) == 0)
      problem("card " + iccid + " is " + state + " but the test never inserted it");
  }
  for (const auto& iccid : stream.retried) {
    auto it = state_of.find(iccid);
    ++out.retried_states[it == state_of.end() ? "unknown" : it->second];
  }
  for (const auto& iccid : stream.completed) {
    auto it = state_of.find(iccid);
    if (it == state_of.end() || it->second != "personalised")
      problem("card " + iccid + " completed at the shop (P4 + Receipt) but the ADS has it " +
              (it == state_of.end() ? std::string("nowhere") : it->second));
  }
  for (const auto& [iccid, card] : stream.cards)
    if (state_of.count(iccid) == 0) problem("card " + iccid + " was inserted at a shop but is not in the stock");

  // Every personalised card: one record, its numbers committed to it, the same values on the card,
  // and the card answers RUN GSM with the Ki/OPc the ADS sealed.
  auto store_db = ads::Database::open(paths.db, ads::OpenMode::MustExist);
  auto key = ads::MasterKey::load_file(paths.master_key);
  if (!store_db || !key) {
    problem("cannot open the store: " + (store_db ? key.error().message : store_db.error().message));
    return out;
  }
  ads::AuditLog audit(*store_db, *key);
  ads::CardRecords records(*store_db, *key, audit, "crash-check");
  std::set<std::string> personalised_imsis;
  for (const auto& [iccid, state] : state_of) {
    const auto numbers = db.query("SELECT kind, value, state FROM number_allocations WHERE iccid = ?1", {iccid});
    if (state != "personalised") {
      // A failed card keeps its numbers reserved for its retry (it may carry them); a spoiled card has
      // them retired; no other card holds any.
      const std::string allowed = state == "failed" ? "reserved" : state == "spoiled" ? "retired" : "";
      for (const auto& n : numbers)
        if (n[2].value_or("") != allowed)
          problem(fmt::format("card {} is {} but {} {} is {} for it", iccid, state, n[0].value_or(""),
                              n[1].value_or(""), n[2].value_or("")));
      continue;
    }
    auto recs = db.query("SELECT version, imsi, msisdn FROM card_records WHERE iccid = ?1 ORDER BY version", {iccid});
    if (recs.size() != 1) {
      problem(fmt::format("personalised card {} has {} record versions (expected 1)", iccid, recs.size()));
      continue;
    }
    const std::string imsi = recs[0][1].value_or(""), msisdn = recs[0][2].value_or("");
    personalised_imsis.insert(imsi);
    std::set<std::string> expected{"imsi " + imsi + " committed", "msisdn " + msisdn + " committed"}, got;
    for (const auto& n : numbers) got.insert(n[0].value_or("") + " " + n[1].value_or("") + " " + n[2].value_or(""));
    if (got != expected) problem(fmt::format("card {}: numbers {} but its record says {}", iccid, got.size(), imsi));
    auto card_it = stream.cards.find(iccid);
    if (card_it == stream.cards.end()) continue;  // reported above
    cardsim::SimCard card(card_it->second.image());  // a copy: RUN GSM must not touch the report
    const auto on_imsi = card_imsi(card.image());
    const auto on_msisdn = card_msisdn(card.image());
    if (on_imsi != imsi)
      problem(fmt::format("card {}: the ADS recorded IMSI {}, the card holds {}", iccid, imsi, on_imsi.value_or("none")));
    if (on_msisdn != msisdn)
      problem(fmt::format("card {}: the ADS recorded MSISDN {}, the card holds {}", iccid, msisdn,
                          on_msisdn.value_or("none")));
    auto keys = records.keys_of(iccid, 1);
    if (!keys) {
      problem("card " + iccid + ": " + keys.error().message);
      continue;
    }
    const Bytes rand = crypto::random_bytes(16);
    auto answer = run_gsm(card, rand);
    if (!answer) {
      problem("card " + iccid + ": " + answer.error().message);
      continue;
    }
    const auto triplet = milenage::gsm(keys->ki.view(), keys->opc.view(), rand);
    Bytes expect(triplet.sres.begin(), triplet.sres.end());
    expect.insert(expect.end(), triplet.kc.begin(), triplet.kc.end());
    // Compared as a boolean: a failure must not print key material.
    if (!crypto::ct_equal(expect, *answer)) problem("card " + iccid + ": RUN GSM does not match the Ki/OPc the ADS holds");
    ++out.personalised_checked;
  }

  // No number on two cards in the ADS's records.
  for (const char* column : {"imsi", "msisdn"}) {
    auto dup = db.query(fmt::format("SELECT {0}, count(DISTINCT iccid) FROM card_records GROUP BY {0} "
                                    "HAVING count(DISTINCT iccid) > 1",
                                    column));
    for (const auto& d : dup)
      problem(fmt::format("{} {} is recorded for {} cards", column, d[0].value_or(""), d[1].value_or("")));
  }

  // None lost: every number handed out has one allocation row; allocated (committed + reserved) +
  // free (released + never used) + retired = the pool; reserved only for failed cards (checked per
  // card above); one IMSI and one MSISDN committed per personalised card.
  const long long personalised = static_cast<long long>(out.card_states["personalised"]);
  for (auto& p : db.query("SELECT id, kind, first, last, next FROM number_pools ORDER BY id")) {
    StoreCheck::Pool pool;
    pool.kind = p[1].value_or("");
    const long long first = as_int(p[2]), last = as_int(p[3]), next = as_int(p[4]);
    pool.size = last - first + 1;
    pool.never_used = last + 1 - next;
    for (auto& c : db.query("SELECT state, count(*) FROM number_allocations WHERE pool_id = ?1 GROUP BY state",
                            {p[0].value_or("")})) {
      const long long n = as_int(c[1]);
      if (c[0] == "committed") pool.committed = n;
      else if (c[0] == "reserved") pool.reserved = n;
      else if (c[0] == "released") pool.released = n;
      else if (c[0] == "retired") pool.retired = n;
    }
    const long long rows = pool.committed + pool.reserved + pool.released + pool.retired;
    if (rows != next - first)
      problem(fmt::format("{} pool: {} numbers handed out but {} allocation rows", pool.kind, next - first, rows));
    if (pool.committed + pool.reserved + pool.released + pool.never_used + pool.retired != pool.size)
      problem(fmt::format("{} pool: allocated {} + free {} + retired {} != size {}", pool.kind,
                          pool.committed + pool.reserved, pool.released + pool.never_used, pool.retired, pool.size));
    out.retired_numbers += static_cast<std::size_t>(pool.retired);
    if (pool.committed != personalised)
      problem(fmt::format("{} pool: {} committed for {} personalised cards", pool.kind, pool.committed, personalised));
    out.pools.push_back(pool);
  }
  if (!db.error().empty()) problem("database: " + db.error());

  // Every card inserted, whatever its state: an IMSI or MSISDN physically on it is allocated to that
  // very card (reserved, committed or retired), and no number is on two cards.
  std::map<std::string, std::string> holder;  // "imsi V" -> ICCID
  std::set<std::string> retired_on_spoiled;
  for (const auto& [iccid, card] : stream.cards) {
    auto it = state_of.find(iccid);
    const std::string state = it == state_of.end() ? "unknown" : it->second;
    const std::pair<const char*, std::optional<std::string>> on_card[] = {{"imsi", card_imsi(card.image())},
                                                                           {"msisdn", card_msisdn(card.image())}};
    for (const auto& [kind, value] : on_card) {
      if (!value || value->empty()) continue;
      ++out.numbers_on_cards;
      const std::string what = std::string(kind) + " " + *value;
      if (auto [at, fresh] = holder.emplace(what, iccid); !fresh) {
        ++out.numbers_on_two_cards;
        problem(fmt::format("{} is on two cards: {} and {} ({})", what, at->second, iccid, state));
      }
      auto row = db.query("SELECT iccid, state FROM number_allocations WHERE kind = ?1 AND value = ?2", {kind, *value});
      if (row.size() != 1 || row[0][0].value_or("") != iccid) {
        problem(fmt::format("card {} ({}) carries {} but the ADS has it {}", iccid, state, what,
                            row.empty() ? std::string("never handed out")
                                        : row[0][1].value_or("") + " for " + row[0][0].value_or("no card")));
        continue;
      }
      if (state == "spoiled") {
        ++out.numbers_on_spoiled_cards;
        if (row[0][1].value_or("") != "retired") problem(fmt::format("spoiled card {} carries {}, not retired", iccid, what));
      }
    }
  }
  if (out.numbers_on_spoiled_cards != out.retired_numbers)
    problem(fmt::format("{} numbers retired but {} on spoiled cards", out.retired_numbers, out.numbers_on_spoiled_cards));

  // Observation: cards the ADS does not hold as personalised that carry an IMSI anyway.
  for (const auto& [iccid, card] : stream.cards) {
    auto it = state_of.find(iccid);
    if (it == state_of.end() || it->second == "personalised") continue;
    const auto imsi = card_imsi(card.image());
    if (!imsi || imsi->empty()) continue;
    ++out.unrecorded_cards_with_imsi;
    if (personalised_imsis.count(*imsi) != 0) ++out.unrecorded_imsi_reused;
  }
  return out;
}

}  // namespace cardperso::crash
