#include "cardperso/ads/store/terminal_store.hpp"

#include "cardperso/ads/store/retailer_store.hpp"
#include "enum_names.hpp"

namespace cardperso::ads {

namespace {

constexpr detail::EnumName<TerminalState> kStateNames[] = {{TerminalState::Active, "active"},
                                                           {TerminalState::Revoked, "revoked"}};

constexpr const char* kColumns = "public_key, retailer_serial, label, status, enrolled_at, revoked_at";

Bytes blob_of(const DevicePublicKey& key) { return Bytes(key.begin(), key.end()); }

std::string short_key(const DevicePublicKey& key) { return to_hex(key); }

TerminalRecord read_record(const Statement& s) {
  TerminalRecord r;
  const Bytes key = s.column_blob(0);
  std::copy_n(key.begin(), std::min(key.size(), r.public_key.size()), r.public_key.begin());  // CHECK: 32 bytes
  r.retailer_serial = s.column_text(1);
  r.label = s.column_text(2);
  r.state = detail::parse_name(kStateNames, s.column_text(3)).value_or(TerminalState::Revoked);
  r.enrolled_at = from_unix(s.column_int(4));
  if (auto at = s.column_optional_int(5)) r.revoked_at = from_unix(*at);
  return r;
}

bool printable(std::string_view text) {
  for (char c : text)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
  return true;
}

}  // namespace

std::string_view to_string(TerminalState state) { return detail::name_of(kStateNames, state).value_or("revoked"); }

TerminalStore::TerminalStore(Database& db, AuditLog& audit, std::string actor, Clock clock)
    : db_(db), audit_(audit), actor_(std::move(actor)), clock_(std::move(clock)) {}

Result<void> TerminalStore::enrol(const DevicePublicKey& key, std::string_view retailer_serial, std::string_view label) {
  if (auto ok = check_retailer_serial(retailer_serial); !ok) return fail(Errc::InvalidInput, ok.error().message);
  if (label.size() > kMaxTerminalLabel || !printable(label))
    return fail(Errc::InvalidInput, "a terminal label is at most 64 printable characters");
  return db_.with_transaction([&]() -> Result<void> {
    auto retailer = db_.read_row(std::string("SELECT status FROM retailers WHERE serial = ?1") + db_.row_lock_sql(),
                                 "enrol terminal: look up retailer",
                                 [](const Statement& s) { return s.column_text(0); }, retailer_serial);
    if (!retailer) return retailer.error();
    if (!*retailer)
      return fail(Errc::NotFound, "no retailer with serial " + std::string(retailer_serial) +
                                      "; enrol the retailer card first (adsctl retailer enrol)");
    if (**retailer == "revoked")
      return fail(Errc::InvalidInput, "retailer " + std::string(retailer_serial) + " is revoked; no terminal is enrolled for it");
    auto existing = db_.read_row("SELECT status FROM terminals WHERE public_key = ?1 AND retailer_serial = ?2",
                                 "enrol terminal: look up enrolment", [](const Statement& s) { return s.column_text(0); },
                                 blob_of(key), retailer_serial);
    if (!existing) return existing.error();
    if (*existing)
      return fail(Errc::AlreadyExists,
                  "terminal " + short_key(key) + " is already enrolled for retailer " + std::string(retailer_serial) +
                      " (status " + **existing + ")" +
                      (**existing == "revoked" ? "; a revoked terminal stays revoked: give it a new device key" : ""));
    auto inserted = db_.run(
        "INSERT INTO terminals (public_key, retailer_serial, label, status, enrolled_at, revoked_at) "
        "VALUES (?1, ?2, ?3, 'active', ?4, NULL)",
        "enrol terminal: insert", blob_of(key), retailer_serial, label, to_unix(clock_()));
    if (!inserted) return inserted;
    auto logged = audit_.append(actor_, "terminal_enrolled", retailer_serial,
                                "public_key=" + short_key(key) + (label.empty() ? "" : " label=" + std::string(label)));
    if (!logged) return logged.error();
    return {};
  });
}

Result<int> TerminalStore::revoke(const DevicePublicKey& key, std::optional<std::string_view> retailer_serial) {
  return db_.with_transaction([&]() -> Result<int> {
    auto active = db_.read_rows(
        std::string("SELECT ") + kColumns + " FROM terminals WHERE public_key = ?1 AND status = 'active' AND "
                                            "(CAST(?2 AS TEXT) IS NULL OR retailer_serial = ?2) ORDER BY retailer_serial",
        "revoke terminal: look up", read_record, blob_of(key), retailer_serial);
    if (!active) return active.error();
    if (active->empty())
      return fail(Errc::NotFound, "terminal " + short_key(key) + " has no active enrolment" +
                                      (retailer_serial ? " for retailer " + std::string(*retailer_serial) : std::string()) +
                                      "; see adsctl terminal list");
    const auto now = to_unix(clock_());
    for (const auto& r : *active) {
      auto updated = db_.run(
          "UPDATE terminals SET status = 'revoked', revoked_at = ?3 WHERE public_key = ?1 AND retailer_serial = ?2",
          "revoke terminal: update", blob_of(key), r.retailer_serial, now);
      if (!updated) return updated.error();
      auto logged = audit_.append(actor_, "terminal_revoked", r.retailer_serial, "public_key=" + short_key(key));
      if (!logged) return logged.error();
    }
    return static_cast<int>(active->size());
  });
}

Result<std::vector<TerminalRecord>> TerminalStore::list(std::optional<std::string_view> retailer_serial) {
  return db_.read_rows(std::string("SELECT ") + kColumns +
                           " FROM terminals WHERE CAST(?1 AS TEXT) IS NULL OR retailer_serial = ?1 ORDER BY enrolled_at, "
                           "retailer_serial, public_key",
                       "list terminals", read_record, retailer_serial);
}

Result<TerminalStanding> TerminalStore::standing(const DevicePublicKey& key, std::string_view retailer_serial) {
  // One query: this card's enrolment if there is one, else whether the key is known at all.
  auto row = db_.read_row(
      "SELECT (SELECT status FROM terminals WHERE public_key = ?1 AND retailer_serial = ?2), "
      "EXISTS (SELECT 1 FROM terminals WHERE public_key = ?1 AND status = 'active')",
      "look up terminal",
      [](const Statement& s) { return std::make_pair(s.column_optional_text(0), s.column_int(1) != 0); },
      blob_of(key), retailer_serial);
  if (!row) return row.error();
  if (!*row) return TerminalStanding::Unknown;
  const auto& [status, known_elsewhere] = **row;
  if (status) return *status == "active" ? TerminalStanding::Enrolled : TerminalStanding::Revoked;
  return known_elsewhere ? TerminalStanding::OtherRetailer : TerminalStanding::Unknown;
}

}  // namespace cardperso::ads
