#include "cardperso/ads/store/card_stock.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cardperso/ads/store/card_codes.hpp"
#include "cardperso/ads/store/csv_batch.hpp"
#include "cardperso/card/card_key.hpp"
#include "cardperso/ads/store/number_pools.hpp"
#include "cardperso/common/crypto.hpp"
#include "enum_names.hpp"
#include "store_guards.hpp"

namespace cardperso::ads {

namespace {

using detail::require_transaction;
using detail::tampered;

constexpr detail::EnumName<CardState> kCardStateNames[] = {
    {CardState::Blank, "blank"},
    {CardState::InProgress, "in_progress"},
    {CardState::Personalised, "personalised"},
    {CardState::Failed, "failed"},
    {CardState::Spoiled, "spoiled"},
};
constexpr detail::EnumName<CodeOnCard> kCodeOnCardNames[] = {
    {CodeOnCard::Master, "master"},
    {CodeOnCard::Pending, "pending"},
    {CodeOnCard::Unknown, "unknown"},
    {CodeOnCard::UnknownPendingFirst, "unknown_pending_first"},
};

constexpr std::string_view kBatchSecretColumn = "card_batches.secret";
constexpr std::string_view kMasterCodeColumn = "cards.master_code";
constexpr std::string_view kIssuerCodeColumn = "cards.issuer_code";

constexpr const char* kCardSummaryColumns =
    "c.iccid, b.name, b.retailer_serial, c.state, coalesce(c.failed_step, ''), coalesce(c.failure_reason, ''), "
    "c.attempts, c.updated_at, c.failures";

CardSummary read_card_summary(const Statement& s) {
  CardSummary c;
  c.iccid = s.column_text(0);
  c.batch_name = s.column_text(1);
  if (!s.column_is_null(2)) c.retailer_serial = s.column_text(2);
  c.state = parse_card_state(s.column_text(3)).value_or(CardState::Spoiled);
  c.failed_step = s.column_text(4);
  c.failure_reason = s.column_text(5);
  c.attempts = static_cast<int>(s.column_int(6));
  c.updated_at = from_unix(s.column_int(7));
  c.failures = static_cast<int>(s.column_int(8));
  return c;
}

BatchSummary read_batch_summary(const Statement& s) {
  BatchSummary b;
  b.id = s.column_int(0);
  b.name = s.column_text(1);
  b.kind = s.column_text(2) == "csv" ? BatchKind::Csv : BatchKind::Secret;
  if (!s.column_is_null(3)) b.retailer_serial = s.column_text(3);
  b.card_count = s.column_int(4);
  b.created_at = from_unix(s.column_int(5));
  b.blank = s.column_int(6);
  b.in_progress = s.column_int(7);
  b.personalised = s.column_int(8);
  b.failed = s.column_int(9);
  b.spoiled = s.column_int(10);
  return b;
}

Result<void> check_batch_name(std::string_view name) {
  const bool printable = std::all_of(name.begin(), name.end(), [](char c) { return c > 0x20 && c < 0x7F; });
  if (name.empty() || name.size() > 64 || !printable) {
    return fail("a batch name is 1 to 64 printable characters without spaces");
  }
  return {};
}

std::string cut(std::string_view text) {
  std::string out(text.substr(0, kMaxFailureText));
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = ' ';
  return out;
}

// A sealed column that may be NULL, as a bind argument.
std::optional<ByteView> blob_or_null(const Bytes* blob) {
  if (blob == nullptr) return std::nullopt;
  return ByteView(*blob);
}

struct CardRow {
  CardState state = CardState::Blank;
  int attempts = 0;
  int failures = 0;  // the failures that count (a report that the script reached the card, a refused code)
  bool has_records = false;
  bool has_pending = false;  // a pending issuer code is stored: a NewCard script was built
};

std::string_view code_on_card_text(CodeOnCard c) { return detail::name_of(kCodeOnCardNames, c).value_or("unknown"); }

Error unknown_card(std::string_view iccid) {
  return fail("card " + std::string(iccid) + " is not in any imported batch; check the ICCID or import its batch");
}

// The card's row of `sql`, whose one parameter ?1 is the ICCID; unknown_card when there is none.
// Inside a transaction the row is locked against other daemons' (Database::row_lock_sql).
Result<Statement> card_query(Database& db, std::string_view sql, std::string_view what, std::string_view iccid) {
  auto row = db.first_row(std::string(sql) + db.row_lock_sql(), what, iccid);
  if (!row) return row.error();
  if (!*row) return unknown_card(iccid);
  return std::move(**row);
}

Result<CardRow> read_card_row(Database& db, std::string_view iccid, std::string_view what) {
  // What the state changes are decided on: locked against other daemons (Database::row_lock_sql).
  auto row = db.read_row(
      std::string("SELECT state, attempts, EXISTS (SELECT 1 FROM card_records r WHERE r.iccid = c.iccid), "
                  "  sealed_pending_code IS NOT NULL, failures FROM cards c WHERE iccid = ?1") +
          db.row_lock_sql(),
      what,
      [](const Statement& s) {
        CardRow r;
        r.state = parse_card_state(s.column_text(0)).value_or(CardState::Spoiled);
        r.attempts = static_cast<int>(s.column_int(1));
        r.has_records = s.column_int(2) != 0;
        r.has_pending = s.column_int(3) != 0;
        r.failures = static_cast<int>(s.column_int(4));
        return r;
      },
      iccid);
  if (!row) return row.error();
  if (!row->has_value()) return unknown_card(iccid);
  return **row;
}

// A blank or failed card's master code: derived from its batch's secret in a secret batch, opened
// from the card's own sealed code in a CSV batch. `sealed` is the one of the two the batch has.
Result<SecretBytes> master_code_of(const MasterKey& key, std::string_view iccid, const std::string& batch,
                                   bool secret_batch, ByteView sealed) {
  if (secret_batch) {
    auto secret = open_column(key, kBatchSecretColumn, batch, sealed);
    if (!secret || secret->size() != kBatchSecretSize) return tampered("batch secret", "batch " + batch);
    return derive_master_code(secret->view(), iccid);
  }
  auto code = open_column(key, kMasterCodeColumn, iccid, sealed);
  if (!code || code->size() != kCardCodeSize) return tampered("master code", "card " + std::string(iccid));
  return std::move(code).value();
}

}  // namespace

std::string_view to_string(CardState state) { return detail::name_of(kCardStateNames, state).value_or("spoiled"); }

std::optional<CardState> parse_card_state(std::string_view text) { return detail::parse_name(kCardStateNames, text); }

std::string_view to_string(BatchKind kind) { return kind == BatchKind::Secret ? "secret" : "csv"; }

CardStock::CardStock(Database& db, const MasterKey& key, AuditLog& audit, std::string actor, Clock clock)
    : db_(db), key_(key), audit_(audit), actor_(std::move(actor)), clock_(std::move(clock)) {}

Result<std::int64_t> CardStock::insert_batch(std::string_view name, BatchKind kind, std::int64_t count,
                                             const Bytes* sealed_secret) {
  auto existing = db_.first_row("SELECT 1 FROM card_batches WHERE name = ?1", "import batch: look up name", name);
  if (!existing) return existing.error();
  if (*existing) return fail("a batch named " + std::string(name) + " already exists; choose another name");
  return db_.insert_id(
      "INSERT INTO card_batches (name, kind, sealed_secret, retailer_serial, card_count, created_at) "
      "VALUES (?1, ?2, ?3, NULL, ?4, ?5) RETURNING id",
      "import batch: insert batch", name, to_string(kind), blob_or_null(sealed_secret), count, to_unix(clock_()));
}

namespace {

// Inserts one blank card; refuses an ICCID that any batch already holds, naming that batch.
Result<void> insert_card(Database& db, std::int64_t batch_id, std::string_view iccid, const Bytes* sealed_code,
                         std::int64_t now, std::string_view where) {
  auto dup = db.first_row("SELECT b.name FROM cards c JOIN card_batches b ON b.id = c.batch_id WHERE c.iccid = ?1",
                          "import batch: look up ICCID", iccid);
  if (!dup) return dup.error();
  if (*dup) {
    return fail(std::string(where) + "ICCID " + std::string(iccid) + " is already in batch " +
                (*dup)->column_text(0) + "; nothing was imported");
  }
  return db.run(
      "INSERT INTO cards (iccid, batch_id, state, sealed_master_code, attempts, updated_at) "
      "VALUES (?1, ?2, 'blank', ?3, 0, ?4)",
      "import batch: insert card", iccid, batch_id, blob_or_null(sealed_code), now);
}

}  // namespace

Result<std::int64_t> CardStock::import_secret_batch(std::string_view name, ByteView secret,
                                                    std::string_view iccid_prefix, std::uint64_t first,
                                                    std::uint64_t count) {
  if (auto ok = check_batch_name(name); !ok) return ok.error();
  if (secret.size() != kBatchSecretSize) return fail("a batch secret is 16 bytes (32 hex digits)");
  if (count == 0 || count > kMaxSecretBatchCards) {
    return fail("a secret batch holds 1 to " + std::to_string(kMaxSecretBatchCards) + " cards");
  }
  if (first > UINT64_MAX - count) return fail("--first + --count overflows");
  std::vector<std::string> iccids;
  iccids.reserve(count);
  for (std::uint64_t i = 0; i < count; ++i) {
    auto iccid = batch_iccid(iccid_prefix, first + i);
    if (!iccid) return iccid.error();
    iccids.push_back(std::move(iccid).value());
  }
  const Bytes sealed = seal_column(key_, kBatchSecretColumn, name, secret);
  return db_.with_transaction([&]() -> Result<std::int64_t> {
    auto id = insert_batch(name, BatchKind::Secret, static_cast<std::int64_t>(count), &sealed);
    if (!id) return id;
    const std::int64_t now = to_unix(clock_());
    for (const auto& iccid : iccids) {
      if (auto r = insert_card(db_, *id, iccid, nullptr, now, ""); !r) return r.error();
    }
    auto logged = audit_.append(actor_, "batch_imported", name,
                                "kind=secret cards=" + std::to_string(count) + " iccids=" + iccids.front() + ".." +
                                    iccids.back());
    if (!logged) return logged.error();
    return id;
  });
}

Result<std::int64_t> CardStock::import_csv_batch(std::string_view name, const std::string& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return fail("cannot read " + path + ": " + ec.message());
  if (size > kMaxCsvBytes) return fail(path + ": file too large (" + std::to_string(size) + " bytes); split the batch");
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail("cannot open " + path);
  std::string text(size, '\0');
  in.read(text.data(), static_cast<std::streamsize>(size));
  if (static_cast<std::uintmax_t>(in.gcount()) != size) return fail("cannot read " + path + " (it changed while read)");
  auto id = import_csv_text(name, text, path);
  if (!text.empty()) secure_wipe(text.data(), text.size());  // it holds the cards' ADM codes
  return id;
}

Result<std::int64_t> CardStock::import_csv_text(std::string_view name, std::string_view text, std::string_view source) {
  if (auto ok = check_batch_name(name); !ok) return ok.error();
  auto cards = parse_csv_batch(text, source);
  if (!cards) return cards.error();
  return db_.with_transaction([&]() -> Result<std::int64_t> {
    auto id = insert_batch(name, BatchKind::Csv, static_cast<std::int64_t>(cards->size()), nullptr);
    if (!id) return id;
    const std::int64_t now = to_unix(clock_());
    for (const auto& card : *cards) {
      const Bytes sealed = seal_column(key_, kMasterCodeColumn, card.iccid, card.master_code.view());
      const std::string where = std::string(source) + " line " + std::to_string(card.line) + ": ";
      if (auto r = insert_card(db_, *id, card.iccid, &sealed, now, where); !r) return r.error();
    }
    auto logged = audit_.append(actor_, "batch_imported", name,
                                "kind=csv cards=" + std::to_string(cards->size()) + " source=" + cut(source));
    if (!logged) return logged.error();
    return id;
  });
}

Result<void> CardStock::assign_batch(std::string_view name, std::string_view retailer_serial) {
  return db_.with_transaction([&]() -> Result<void> {
    auto batch = db_.first_row("SELECT id, retailer_serial FROM card_batches WHERE name = ?1", "assign batch: look up",
                               name);
    if (!batch) return batch.error();
    if (!*batch) return fail("no batch named " + std::string(name) + "; see `adsctl batch list`");
    const std::int64_t id = (*batch)->column_int(0);
    const std::string previous = (*batch)->column_is_null(1) ? "none" : (*batch)->column_text(1);

    auto retailer = db_.first_row("SELECT status FROM retailers WHERE serial = ?1", "assign batch: look up retailer",
                                  retailer_serial);
    if (!retailer) return retailer.error();
    if (!*retailer) {
      return fail("no retailer with serial " + std::string(retailer_serial) + "; see `adsctl retailer list`");
    }
    if ((*retailer)->column_text(0) == "revoked") {
      return fail("retailer " + std::string(retailer_serial) + " is revoked; assign the batch to an active retailer");
    }
    auto updated = db_.run("UPDATE card_batches SET retailer_serial = ?2 WHERE id = ?1", "assign batch: update", id,
                           retailer_serial);
    if (!updated) return updated;
    auto logged = audit_.append(actor_, "batch_assigned", name,
                                "retailer=" + std::string(retailer_serial) + " previous=" + previous);
    if (!logged) return logged.error();
    return {};
  });
}

Result<std::vector<BatchSummary>> CardStock::list_batches() {
  return db_.read_rows(
      "SELECT b.id, b.name, b.kind, b.retailer_serial, b.card_count, b.created_at, "
      "  count(*) FILTER (WHERE c.state = 'blank'), count(*) FILTER (WHERE c.state = 'in_progress'), "
      "  count(*) FILTER (WHERE c.state = 'personalised'), count(*) FILTER (WHERE c.state = 'failed'), "
      "  count(*) FILTER (WHERE c.state = 'spoiled') "
      "FROM card_batches b LEFT JOIN cards c ON c.batch_id = b.id GROUP BY b.id ORDER BY b.id",
      "list batches", read_batch_summary);
}

Result<std::optional<CardSummary>> CardStock::find_card(std::string_view iccid) {
  return db_.read_row(std::string("SELECT ") + kCardSummaryColumns +
                          " FROM cards c JOIN card_batches b ON b.id = c.batch_id WHERE c.iccid = ?1",
                      "find card", read_card_summary, iccid);
}

Result<std::vector<CardSummary>> CardStock::list_cards(std::optional<CardState> state, int limit) {
  std::optional<std::string_view> wanted;  // NULL: every state
  if (state) wanted = to_string(*state);
  return db_.read_rows(std::string("SELECT ") + kCardSummaryColumns +
                           " FROM cards c JOIN card_batches b ON b.id = c.batch_id "
                           "WHERE CAST(?1 AS TEXT) IS NULL OR c.state = ?1 ORDER BY c.iccid LIMIT ?2",
                       "list cards", read_card_summary, wanted, std::int64_t{limit});
}

Result<CardLookup> CardStock::inspect_card_for(std::string_view retailer_serial, std::string_view iccid,
                                               CardPurpose purpose) {
  const std::string id(iccid);
  CardLookup out;
  auto refuse = [&out](CardRefusal why, std::string message) -> Result<CardLookup> {
    out.refusal = why;
    out.message = std::move(message);
    return std::move(out);
  };
  if (!check_iccid(iccid)) return refuse(CardRefusal::UnknownIccid, "card " + id.substr(0, 24) + " is not an ICCID of any imported batch");
  auto row = db_.first_row(
      "SELECT c.state, c.attempts, b.kind, b.name, b.retailer_serial, b.sealed_secret, c.sealed_master_code, "
      "  c.sealed_issuer_code, c.sealed_pending_code, c.code_on_card "
      "FROM cards c JOIN card_batches b ON b.id = c.batch_id WHERE c.iccid = ?1",
      "look up card", iccid);
  if (!row) return row.error();
  if (!*row) return refuse(CardRefusal::UnknownIccid, unknown_card(iccid).message);
  const Statement& card = **row;
  const CardState state = parse_card_state(card.column_text(0)).value_or(CardState::Spoiled);
  const int attempts = static_cast<int>(card.column_int(1));
  const bool secret_batch = card.column_text(2) == "secret";
  const std::string batch = card.column_text(3);
  if (card.column_is_null(4)) {
    return refuse(CardRefusal::UnassignedBatch, "card " + id + " is from batch " + batch +
                                                    ", which is not assigned to any retailer; assign it first");
  }
  if (card.column_text(4) != retailer_serial) {
    return refuse(CardRefusal::OtherRetailer, "card " + id + " is not in this retailer's stock");
  }
  if (state == CardState::Spoiled) {
    return refuse(CardRefusal::Spoiled, "card " + id + " is spoiled; take it out of circulation");
  }
  if (state == CardState::InProgress) {
    // On PostgreSQL the session may have run on a daemon that died: its card is failed (as a restart
    // would fail it: not counted against the card) and looked at again.
    if (db_.backend() == Backend::Postgres && !db_.in_transaction()) {
      auto recovered = fail_interrupted();
      if (!recovered) return recovered.error();
      if (*recovered > 0) return inspect_card_for(retailer_serial, iccid, purpose);
    }
    return refuse(CardRefusal::InProgress, "card " + id + " is being personalised in another session");
  }
  if (purpose == CardPurpose::NewCard && state == CardState::Personalised) {
    return refuse(CardRefusal::AlreadyPersonalised,
                  "card " + id + " is already personalised; changing it is a modification");
  }
  if (purpose == CardPurpose::Modification && state != CardState::Personalised) {
    return refuse(CardRefusal::NotPersonalised, "card " + id + " was never personalised; it cannot be modified");
  }

  out.opening.iccid = id;
  out.opening.state = state;
  out.opening.attempts = attempts;
  if (secret_batch) {
    auto secret = open_column(key_, kBatchSecretColumn, batch, card.column_blob(5));
    if (!secret || secret->size() != kBatchSecretSize) return tampered("batch secret", "batch " + batch);
    out.opening.card_key = card::derive_card_key(secret->view(), iccid);
  }
  auto master_code = [&]() {
    return master_code_of(key_, iccid, batch, secret_batch, card.column_blob(secret_batch ? 5 : 6));
  };
  if (state == CardState::Personalised) {
    if (card.column_is_null(7)) return tampered("issuer code", "card " + id);  // a personalised card always has one
    auto code = open_column(key_, kIssuerCodeColumn, iccid, card.column_blob(7));
    if (!code || code->size() != kCardCodeSize) return tampered("issuer code", "card " + id);
    out.opening.code_kind = OpeningCode::Issuer;
    out.opening.code = std::move(code).value();
    return out;
  }
  // Blank or failed: the master code, the pending issuer code, or both (the likelier first).
  const std::string on_card = card.column_text(9);
  const bool pending_known = !card.column_is_null(8);
  std::optional<SecretBytes> pending;
  if (pending_known) {
    auto code = open_column(key_, kIssuerCodeColumn, iccid, card.column_blob(8));
    if (!code || code->size() != kCardCodeSize) return tampered("pending issuer code", "card " + id);
    pending = std::move(code).value();
  }
  if (!pending || on_card == "master") {
    auto code = master_code();
    if (!code) return code.error();
    out.opening.code = std::move(*code);
    return out;
  }
  if (on_card == "pending") {
    out.opening.code_kind = OpeningCode::Issuer;
    out.opening.code = std::move(*pending);
    return out;
  }
  auto master = master_code();
  if (!master) return master.error();
  if (on_card == "unknown_pending_first") {
    out.opening.code_kind = OpeningCode::Issuer;
    out.opening.code = std::move(*pending);
    out.opening.alternative = std::move(*master);
  } else {
    out.opening.code = std::move(*master);
    out.opening.alternative = std::move(*pending);
  }
  return out;
}

Result<CardOpening> CardStock::lookup_card_for(std::string_view retailer_serial, std::string_view iccid,
                                               CardPurpose purpose) {
  auto lookup = inspect_card_for(retailer_serial, iccid, purpose);
  if (!lookup) return lookup.error();
  if (lookup->refused()) return fail(lookup->message);
  return std::move(lookup->opening);
}

Result<SecretBytes> CardStock::blank_master_code(std::string_view iccid) {
  const std::string id(iccid);
  if (!check_iccid(iccid)) return fail("card " + id.substr(0, 24) + " is not an ICCID of any imported batch");
  auto row = card_query(
      db_,
      "SELECT c.state, c.attempts, b.kind, b.name, b.sealed_secret, c.sealed_master_code, "
      "  c.sealed_issuer_code IS NULL FROM cards c JOIN card_batches b ON b.id = c.batch_id WHERE c.iccid = ?1",
      "look up blank card", iccid);
  if (!row) return row.error();
  const Statement& card = *row;
  const auto state = parse_card_state(card.column_text(0));
  if (state != CardState::Blank || card.column_int(1) != 0 || card.column_int(6) == 0) {
    return fail("card " + id + " is " + std::string(to_string(state.value_or(CardState::Spoiled))) +
                " in the stock and was already used; only a blank, never-tried card can be enrolled from stock");
  }
  const bool secret_batch = card.column_text(2) == "secret";
  return master_code_of(key_, iccid, card.column_text(3), secret_batch, card.column_blob(secret_batch ? 4 : 5));
}

Result<int> CardStock::begin_personalisation(std::string_view iccid, CardPurpose purpose) {
  return db_.with_transaction([&]() -> Result<int> {
    auto card = read_card_row(db_, iccid, "begin personalisation: look up card");
    if (!card) return card.error();
    const CardRow& c = *card;
    int attempts = c.attempts;
    if (purpose == CardPurpose::NewCard) {
      if (c.state != CardState::Blank && c.state != CardState::Failed) {
        return fail("card " + std::string(iccid) + " is " + std::string(to_string(c.state)) +
                    "; only a blank or failed card can be personalised");
      }
      if (c.failures >= kMaxPersonalisationAttempts) {
        return fail("card " + std::string(iccid) + " has failed " + std::to_string(kMaxPersonalisationAttempts) +
                    " times");
      }
      ++attempts;
    } else if (c.state != CardState::Personalised) {
      return fail("card " + std::string(iccid) + " is " + std::string(to_string(c.state)) +
                  "; only a personalised card can be modified");
    }
    auto updated = db_.run(
        "UPDATE cards SET state = 'in_progress', attempts = ?2, updated_at = ?3, in_progress_by = ?4 WHERE iccid = ?1",
        "begin personalisation: update", iccid, std::int64_t{attempts}, to_unix(clock_()), db_.instance());
    if (!updated) return updated.error();
    auto logged = audit_.append(actor_,
                                purpose == CardPurpose::NewCard ? "card_personalisation_started"
                                                                : "card_modification_started",
                                iccid, "attempt=" + std::to_string(attempts));
    if (!logged) return logged.error();
    return attempts;
  });
}

Result<CardState> CardStock::fail_in_transaction(std::string_view iccid, const CardFailure& failure) {
  auto card = read_card_row(db_, iccid, "mark card failed: look up card");
  if (!card) return card.error();
  const CardRow& c = *card;
  if (c.state != CardState::InProgress) {
    return fail("card " + std::string(iccid) + " is " + std::string(to_string(c.state)) +
                ", not being personalised; nothing to mark failed");
  }
  // Only evidence counts: the card refused its code, or the terminal reported a script that reached it.
  const bool counted = failure.code_refused || (failure.reported && !failure.nothing_written);
  CardState next = CardState::Failed;
  if (failure.code_refused || (!c.has_records && counted && c.failures + 1 >= kMaxPersonalisationAttempts)) {
    next = CardState::Spoiled;
  } else if (c.has_records) {
    next = CardState::Personalised;  // a failed modification: the card keeps its last record
  }
  // A modification keeps the card's record and code; a new card's knowledge of its code moves only
  // when a script was built for it (otherwise it cannot hold anything but what it held).
  std::optional<CodeOnCard> on_card;
  if (!c.has_records && failure.code_on_card && (c.has_pending || *failure.code_on_card == CodeOnCard::Master))
    on_card = failure.code_on_card;
  std::optional<std::string_view> on_card_text;  // NULL: code_on_card stays
  if (on_card) on_card_text = code_on_card_text(*on_card);
  const std::int64_t failures = c.failures + (counted && !c.has_records ? 1 : 0);
  auto updated = db_.run(
      "UPDATE cards SET state = ?2, failed_step = ?3, failure_reason = ?4, updated_at = ?5, "
      "  code_on_card = coalesce(?6, code_on_card), failures = ?7 WHERE iccid = ?1",
      "mark card failed: update", iccid, to_string(next), cut(failure.step), cut(failure.reason),
      to_unix(clock_()), on_card_text, failures);
  if (!updated) return updated.error();
  // Numbers: the card may carry them unless this was its first attempt and it wrote nothing. Then they
  // stay reserved for its retry, or, once it is spoiled, are retired: never on two cards.
  NumberPools pools(db_, audit_, actor_, clock_);
  const bool untouched = c.has_records || (failure.nothing_written && c.attempts <= 1);
  int released = 0, retired = 0;
  if (untouched) {
    auto n = pools.release_reserved(iccid);
    if (!n) return n.error();
    released = *n;
  } else if (next == CardState::Spoiled) {
    auto n = pools.retire_reserved(iccid);
    if (!n) return n.error();
    retired = *n;
  }
  auto logged = audit_.append(actor_, next == CardState::Spoiled ? "card_spoiled" : "card_failed", iccid,
                              "step=" + cut(failure.step) + " reason=" + cut(failure.reason) +
                                  (failure.code_refused ? " code_refused" : "") +
                                  (counted ? "" : " not_counted") +
                                  (on_card ? " code_on_card=" + std::string(code_on_card_text(*on_card)) : "") +
                                  " numbers_released=" + std::to_string(released) +
                                  " numbers_retired=" + std::to_string(retired));
  if (!logged) return logged.error();
  return next;
}

Result<SecretBytes> CardStock::pending_issuer_code(std::string_view iccid) {
  return db_.with_transaction([&]() -> Result<SecretBytes> {
    auto row = card_query(
        db_,
        "SELECT state, sealed_pending_code, EXISTS (SELECT 1 FROM card_records r WHERE r.iccid = c.iccid) "
        "FROM cards c WHERE iccid = ?1",
        "pending issuer code: look up card", iccid);
    if (!row) return row.error();
    const Statement& card = *row;
    if (card.column_text(0) != "in_progress" || card.column_int(2) != 0)
      return fail("card " + std::string(iccid) + " is not being personalised; it has no pending issuer code");
    if (!card.column_is_null(1)) {
      auto code = open_column(key_, kIssuerCodeColumn, iccid, card.column_blob(1));
      if (!code || code->size() != kCardCodeSize) return tampered("pending issuer code", "card " + std::string(iccid));
      return std::move(code).value();
    }
    SecretBytes code = crypto::random_secret(kCardCodeSize);
    auto updated = db_.run("UPDATE cards SET sealed_pending_code = ?2 WHERE iccid = ?1", "pending issuer code: store it",
                           iccid, seal_column(key_, kIssuerCodeColumn, iccid, code.view()));
    if (!updated) return updated.error();
    return code;
  });
}

Result<CardState> CardStock::mark_failed(std::string_view iccid, const CardFailure& failure) {
  return db_.with_transaction([&]() { return fail_in_transaction(iccid, failure); });
}

Result<int> CardStock::fail_interrupted() {
  return db_.with_transaction([&]() -> Result<int> {
    // Locked as they are read; on PostgreSQL those another daemon is taking back just now are passed
    // over (SKIP LOCKED), so two daemons taking back the same gone daemon's cards do not collide.
    const std::string lock = *db_.row_lock_sql() != '\0' ? std::string(db_.row_lock_sql()) + " SKIP LOCKED" : "";
    auto iccids = db_.read_rows("SELECT iccid FROM cards WHERE state = 'in_progress' AND " +
                                    db_.owner_gone_sql("in_progress_by") + lock,
                                "fail interrupted cards", [](const Statement& s) { return s.column_text(0); });
    if (!iccids) return iccids.error();
    for (const auto& iccid : *iccids) {
      const char* why = db_.backend() == Backend::Postgres ? "its ADS daemon stopped" : "server restarted";
      auto r = fail_in_transaction(iccid, CardFailure{"unknown", why, false, CodeOnCard::Unknown, false, false});
      if (!r) return r.error();
    }
    return static_cast<int>(iccids->size());
  });
}

Result<void> CardStock::mark_personalised(std::string_view iccid, ByteView issuer_code) {
  require_transaction(db_, "CardStock::mark_personalised");
  if (issuer_code.size() != kCardCodeSize) return fail("an issuer code is 8 bytes");
  auto card = read_card_row(db_, iccid, "mark card personalised: look up card");
  if (!card) return card.error();
  if (card->state != CardState::InProgress || card->has_records) {
    return fail("card " + std::string(iccid) + " is " + std::string(to_string(card->state)) +
                ((card->has_records) ? " and has a record" : "") +
                "; only a card whose first personalisation is running can be marked personalised");
  }
  return db_.run(
      "UPDATE cards SET state = 'personalised', sealed_issuer_code = ?2, sealed_pending_code = NULL, "
      "failed_step = NULL, failure_reason = NULL, updated_at = ?3 WHERE iccid = ?1",
      "mark card personalised: update", iccid, seal_column(key_, kIssuerCodeColumn, iccid, issuer_code),
      to_unix(clock_()));
}

Result<void> CardStock::mark_modified(std::string_view iccid, std::optional<ByteView> new_issuer_code) {
  require_transaction(db_, "CardStock::mark_modified");
  if (new_issuer_code && new_issuer_code->size() != kCardCodeSize) return fail("an issuer code is 8 bytes");
  auto card = read_card_row(db_, iccid, "mark card modified: look up card");
  if (!card) return card.error();
  if (card->state != CardState::InProgress || !card->has_records) {
    return fail("card " + std::string(iccid) + " is " + std::string(to_string(card->state)) +
                "; only a card whose modification is running can be marked modified");
  }
  std::optional<Bytes> sealed;  // NULL: the card keeps its issuer code
  if (new_issuer_code) sealed = seal_column(key_, kIssuerCodeColumn, iccid, *new_issuer_code);
  return db_.run(
      "UPDATE cards SET state = 'personalised', sealed_issuer_code = coalesce(?2, sealed_issuer_code), "
      "failed_step = NULL, failure_reason = NULL, updated_at = ?3 WHERE iccid = ?1",
      "mark card modified: update", iccid, sealed, to_unix(clock_()));
}

}  // namespace cardperso::ads
