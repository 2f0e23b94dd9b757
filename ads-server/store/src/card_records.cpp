#include "cardperso/ads/store/card_records.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "cardperso/ads/store/card_codes.hpp"
#include "cardperso/common/crypto.hpp"
#include "store_guards.hpp"

namespace cardperso::ads {

namespace {

using detail::tampered;

constexpr std::string_view kKiColumn = "card_records.ki";
constexpr std::string_view kOpcColumn = "card_records.opc";
constexpr std::string_view kPersonalDataColumn = "subscribers.personal_data";

constexpr const char* kVersionColumns =
    "iccid, version, imsi, msisdn, spn, plmnsel, profile, files, retailer_serial, subscriber_id, session_id, "
    "decision_id, created_at";

bool digits(std::string_view s, std::size_t min, std::size_t max) {
  return s.size() >= min && s.size() <= max &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool is_hex(std::string_view s) {
  return s.size() % 2 == 0 && std::all_of(s.begin(), s.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; });
}

// "3F00", "3F00/7F20/6F07": 1..6 FIDs of 4 hex digits.
bool file_path(std::string_view p) {
  if (p.empty() || p.size() > 6 * 5 - 1 || (p.size() + 1) % 5 != 0) return false;
  for (std::size_t i = 0; i < p.size(); ++i) {
    if ((i + 1) % 5 == 0) {
      if (p[i] != '/') return false;
    } else if (std::isxdigit(static_cast<unsigned char>(p[i])) == 0) {
      return false;
    }
  }
  return true;
}

std::string_view secret_name(FileValue kind) {
  switch (kind) {
    case FileValue::Ki: return "ki";
    case FileValue::Opc: return "opc";
    case FileValue::IssuerCode: return "issuer_code";
    case FileValue::CustomerCode: return "customer_code";
    case FileValue::Clear: break;
  }
  return "";
}

Result<void> check_content(const CardContent& c, bool keys_required) {
  if (!digits(c.imsi, 6, 15)) return fail("card record: the IMSI must be 6 to 15 digits");
  if (!digits(c.msisdn, 3, 15)) return fail("card record: the MSISDN must be 3 to 15 digits");
  if (keys_required || !c.ki.empty() || !c.opc.empty()) {
    if (c.ki.size() != crypto::kAesKeySize || c.opc.size() != crypto::kAesKeySize) {
      return fail("card record: Ki and OPc must be 16 bytes each");
    }
  }
  if (c.spn.size() > 32) return fail("card record: the SPN is longer than 32 bytes");
  if (c.plmnsel.size() > 2 * 255 || !is_hex(c.plmnsel)) return fail("card record: PLMNsel must be hex, at most 255 bytes");
  if (c.profile.empty() || c.profile.size() > 64) return fail("card record: the profile name must be 1 to 64 characters");
  if (c.files.empty() || c.files.size() > kMaxRecordFiles) {
    return fail("card record: 1 to " + std::to_string(kMaxRecordFiles) + " files written");
  }
  for (const auto& f : c.files) {
    if (!file_path(f.path)) return fail("card record: bad file path \"" + f.path.substr(0, 40) + "\"");
    if (f.kind == FileValue::Clear) {
      if (f.value_hex.size() > 2 * 4096 || !is_hex(f.value_hex)) {
        return fail("card record: the value of " + f.path + " must be hex, at most 4096 bytes");
      }
    } else if (!f.value_hex.empty()) {
      // A programming slip that would put a key or a code into the clear record: refuse it.
      return fail("card record: " + f.path + " holds a secret (" + std::string(secret_name(f.kind)) +
                  "); its value is never recorded in clear");
    }
  }
  return {};
}

std::string files_json(const std::vector<WrittenFile>& files) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& f : files) {
    nlohmann::json entry{{"path", f.path}};
    if (f.kind == FileValue::Clear) {
      std::string lower = f.value_hex;
      std::transform(lower.begin(), lower.end(), lower.begin(),
                     [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
      entry["value"] = lower;
    } else {
      entry["secret"] = secret_name(f.kind);
    }
    out.push_back(std::move(entry));
  }
  return out.dump();
}

std::string version_row(std::string_view iccid, int version) {
  return std::string(iccid) + "/" + std::to_string(version);
}

CardRecordVersion read_version(const Statement& s) {
  CardRecordVersion v;
  v.iccid = s.column_text(0);
  v.version = static_cast<int>(s.column_int(1));
  v.imsi = s.column_text(2);
  v.msisdn = s.column_text(3);
  v.spn = s.column_text(4);
  v.plmnsel = s.column_text(5);
  v.profile = s.column_text(6);
  v.files_json = s.column_text(7);
  v.retailer_serial = s.column_text(8);
  v.subscriber_id = s.column_int(9);
  v.session_id = s.column_optional_int(10);
  v.decision_id = s.column_optional_int(11);
  v.created_at = from_unix(s.column_int(12));
  return v;
}

// The card's batch must belong to the retailer named in the record.
Result<void> check_stock_owner(Database& db, std::string_view iccid, std::string_view retailer) {
  auto row = db.first_row(
      "SELECT b.retailer_serial FROM cards c JOIN card_batches b ON b.id = c.batch_id WHERE c.iccid = ?1",
      "card record: look up the card's retailer", iccid);
  if (!row) return row.error();
  if (!*row) return fail("card " + std::string(iccid) + " is not in any imported batch");
  if ((*row)->column_is_null(0) || (*row)->column_text(0) != retailer) {
    return fail("card " + std::string(iccid) + " is not in retailer " + std::string(retailer) + "'s stock");
  }
  return {};
}

}  // namespace

CardRecords::CardRecords(Database& db, const MasterKey& key, AuditLog& audit, std::string actor, Clock clock)
    : db_(db),
      key_(key),
      audit_(audit),
      actor_(std::move(actor)),
      clock_(std::move(clock)),
      stock_(db, key, audit, actor_, clock_),
      pools_(db, audit, actor_, clock_),
      hlr_(db, audit, actor_, clock_) {}

Result<std::int64_t> CardRecords::insert_subscriber(std::string_view personal_data_json) {
  if (personal_data_json.empty() || personal_data_json.size() > kMaxPersonalData) {
    return fail("card record: the customer details must be 1 to " + std::to_string(kMaxPersonalData) + " bytes");
  }
  // On PostgreSQL daemons insert at once, so the id comes from the column's sequence (never handed
  // out twice). Its id is sealed into the row, so it is taken first. A database whose ids were once
  // taken as max + 1 may have ids past the sequence: it is moved past them first.
  auto next = db_.read_row(db_.backend() == Backend::Postgres
                               ? "SELECT CASE WHEN n >= m THEN n ELSE setval(pg_get_serial_sequence('subscribers', "
                                 "'id'), m) END FROM (SELECT nextval(pg_get_serial_sequence('subscribers', 'id')) AS "
                                 "n, (SELECT coalesce(max(id), 0) + 1 FROM subscribers) AS m) AS s"
                               : "SELECT coalesce(max(id), 0) + 1 FROM subscribers",
                           "record subscriber: next id", [](const Statement& s) { return s.column_int(0); });
  if (!next) return next.error();
  const std::int64_t id = next->value_or(1);  // an aggregate always has its one row
  const Bytes sealed = seal_column(key_, kPersonalDataColumn, std::to_string(id),
                                   ByteView(reinterpret_cast<const std::uint8_t*>(personal_data_json.data()),
                                            personal_data_json.size()));
  auto inserted = db_.run("INSERT INTO subscribers (id, sealed_personal_data, created_at) VALUES (?1, ?2, ?3)",
                          "record subscriber: insert", id, sealed, to_unix(clock_()));
  if (!inserted) return inserted.error();
  return id;
}

Result<void> CardRecords::insert_version(std::string_view iccid, int version, const CardContent& content, ByteView ki,
                                         ByteView opc, std::string_view retailer, std::int64_t subscriber_id,
                                         std::optional<std::int64_t> session_id,
                                         std::optional<std::int64_t> decision_id) {
  const std::string row = version_row(iccid, version);
  return db_.run(
      "INSERT INTO card_records (iccid, version, imsi, msisdn, sealed_ki, sealed_opc, spn, plmnsel, profile, files, "
      "retailer_serial, subscriber_id, session_id, decision_id, created_at) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
      "record card: insert version", iccid, std::int64_t{version}, content.imsi, content.msisdn,
      seal_column(key_, kKiColumn, row, ki), seal_column(key_, kOpcColumn, row, opc), content.spn, content.plmnsel,
      content.profile, files_json(content.files), retailer, subscriber_id, session_id, decision_id, to_unix(clock_()));
}

Result<void> CardRecords::record_personalisation(const PersonalisationRecord& r) {
  if (auto ok = check_content(r.content, true); !ok) return ok;
  if (r.issuer_code.size() != kCardCodeSize) return fail("card record: the issuer code must be 8 bytes");
  return db_.with_transaction([&]() -> Result<void> {
    if (auto owner = check_stock_owner(db_, r.iccid, r.retailer_serial); !owner) return owner;
    if (auto done = stock_.mark_personalised(r.iccid, r.issuer_code.view()); !done) return done;
    if (auto c = pools_.commit(NumberKind::Imsi, r.content.imsi, r.iccid); !c) return c;
    if (auto c = pools_.commit(NumberKind::Msisdn, r.content.msisdn, r.iccid); !c) return c;
    auto subscriber = insert_subscriber(r.personal_data_json);
    if (!subscriber) return subscriber.error();
    if (auto v = insert_version(r.iccid, 1, r.content, r.content.ki.view(), r.content.opc.view(), r.retailer_serial,
                                *subscriber, r.session_id, r.decision_id);
        !v) {
      return v;
    }
    if (auto job = hlr_.enqueue_provision(r.iccid, 1, r.content.imsi); !job) return job.error();
    auto logged = audit_.append(actor_, "card_personalised", r.iccid,
                                "version=1 retailer=" + r.retailer_serial + " profile=" + r.content.profile +
                                    (r.session_id ? " session=" + std::to_string(*r.session_id) : ""));
    if (!logged) return logged.error();
    return {};
  });
}

Result<int> CardRecords::record_modification(const ModificationRecord& r) {
  if (auto ok = check_content(r.content, false); !ok) return ok.error();
  if (r.issuer_code && r.issuer_code->size() != kCardCodeSize) return fail("card record: the issuer code must be 8 bytes");
  return db_.with_transaction([&]() -> Result<int> {
    if (auto owner = check_stock_owner(db_, r.iccid, r.retailer_serial); !owner) return owner.error();
    auto row = db_.first_row(
        "SELECT version, imsi, msisdn, sealed_ki, sealed_opc, subscriber_id FROM card_records WHERE iccid = ?1 "
        "ORDER BY version DESC LIMIT 1",
        "record modification: previous version", r.iccid);
    if (!row) return row.error();
    if (!*row) return fail("card " + r.iccid + " has no record; a first personalisation is not a modification");
    const Statement& last = **row;
    const int version = static_cast<int>(last.column_int(0)) + 1;
    const std::string old_imsi = last.column_text(1), old_msisdn = last.column_text(2);
    std::int64_t subscriber_id = last.column_int(5);

    SecretBytes ki = r.content.ki, opc = r.content.opc;
    if (ki.empty()) {
      const std::string prev_row = version_row(r.iccid, version - 1);
      auto k = open_column(key_, kKiColumn, prev_row, last.column_blob(3));
      auto o = open_column(key_, kOpcColumn, prev_row, last.column_blob(4));
      if (!k || !o) return tampered("Ki/OPc", "card " + prev_row);
      ki = std::move(k).value();
      opc = std::move(o).value();
    }
    std::optional<ByteView> new_code;
    if (r.issuer_code) new_code = r.issuer_code->view();
    if (auto done = stock_.mark_modified(r.iccid, new_code); !done) return done.error();
    for (auto [kind, now, before] : {std::tuple{NumberKind::Imsi, &r.content.imsi, &old_imsi},
                                     std::tuple{NumberKind::Msisdn, &r.content.msisdn, &old_msisdn}}) {
      if (*now == *before) continue;
      if (auto c = pools_.commit(kind, *now, r.iccid); !c) return c.error();
      if (auto rel = pools_.release(kind, *before); !rel) return rel.error();
    }
    if (!r.personal_data_json.empty()) {
      auto subscriber = insert_subscriber(r.personal_data_json);
      if (!subscriber) return subscriber.error();
      subscriber_id = *subscriber;
    }
    if (auto v = insert_version(r.iccid, version, r.content, ki.view(), opc.view(), r.retailer_serial, subscriber_id,
                                r.session_id, r.decision_id);
        !v) {
      return v.error();
    }
    // A new IMSI is a new subscriber: the old one goes first, so the HLR never holds both for one card.
    if (r.content.imsi != old_imsi) {
      if (auto job = hlr_.enqueue_remove(r.iccid, old_imsi); !job) return job.error();
    }
    if (auto job = hlr_.enqueue_provision(r.iccid, version, r.content.imsi); !job) return job.error();
    auto logged = audit_.append(actor_, "card_modified", r.iccid,
                                "version=" + std::to_string(version) + " retailer=" + r.retailer_serial +
                                    " profile=" + r.content.profile +
                                    (r.issuer_code ? " issuer_code_changed" : "") +
                                    (r.session_id ? " session=" + std::to_string(*r.session_id) : ""));
    if (!logged) return logged.error();
    return version;
  });
}

Result<void> CardRecords::retire(std::string_view iccid, std::string_view reason) {
  if (reason.empty() || reason.size() > kMaxFailureText) {
    return fail("retire card: give a reason of 1 to " + std::to_string(kMaxFailureText) + " characters");
  }
  const std::string id(iccid);
  return db_.with_transaction([&]() -> Result<void> {
    auto card = db_.first_row(std::string("SELECT state FROM cards WHERE iccid = ?1") + db_.row_lock_sql(),
                              "retire card: look up the card", iccid);
    if (!card) return card.error();
    if (!*card) return fail("card " + id + " is not in any imported batch");
    const std::string state = (*card)->column_text(0);
    if (state != "personalised") {
      return fail("card " + id + " is " + state + "; only a personalised card can be retired" +
                  (state == "in_progress" ? " (wait until its session ends)" : ""));
    }
    auto last = db_.first_row("SELECT imsi, version FROM card_records WHERE iccid = ?1 ORDER BY version DESC LIMIT 1",
                              "retire card: its latest record", iccid);
    if (!last) return last.error();
    if (!*last) return fail("card " + id + " is personalised but has no record; run adsctl audit verify");
    const std::string imsi = (*last)->column_text(0);
    const std::int64_t version = (*last)->column_int(1);
    auto changed = db_.update(
        "UPDATE cards SET state = 'spoiled', failed_step = 'retired', failure_reason = ?2, retired_at = ?3, "
        "retire_reason = ?2, updated_at = ?3 WHERE iccid = ?1 AND state = 'personalised'",
        "retire card: mark it", iccid, std::string(reason), to_unix(clock_()));
    if (!changed) return changed.error();
    auto retired = pools_.retire_committed(iccid);
    if (!retired) return retired.error();
    if (auto job = hlr_.enqueue_remove(iccid, imsi); !job) return job.error();
    auto logged = audit_.append(actor_, "card_retired", iccid,
                                "version=" + std::to_string(version) + " numbers_retired=" + std::to_string(*retired) +
                                    " reason=" + std::string(reason));
    if (!logged) return logged.error();
    return {};
  });
}

Result<CardRecords::Numbers> CardRecords::reserve_numbers(std::string_view iccid) {
  return db_.with_transaction([&]() -> Result<Numbers> {
    auto imsi = pools_.reserve_for_card(NumberKind::Imsi, iccid);  // a retry gets its own back
    if (!imsi) return imsi.error();
    auto msisdn = pools_.reserve_for_card(NumberKind::Msisdn, iccid);
    if (!msisdn) return msisdn.error();
    return Numbers{std::move(imsi).value(), std::move(msisdn).value()};
  });
}

Result<std::string> CardRecords::reserve_new_msisdn(std::string_view iccid) {
  return db_.with_transaction([&]() -> Result<std::string> { return pools_.reserve_for_card(NumberKind::Msisdn, iccid); });
}

Result<std::int64_t> CardRecords::record_decision(std::string_view retailer_serial,
                                                  std::optional<std::int64_t> session_id, bool go,
                                                  const std::vector<std::string>& reasons) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& reason : reasons) list.push_back(reason.substr(0, 256));
  // Invalid UTF-8 in a reason (from an external command) is replaced, not refused.
  const std::string reasons_json = list.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return db_.with_transaction([&]() -> Result<std::int64_t> {
    auto inserted = db_.insert_id(
        "INSERT INTO decisions (retailer_serial, session_id, go, reasons, at) VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
        "record decision: insert", retailer_serial.substr(0, 32), session_id, std::int64_t{go ? 1 : 0}, reasons_json,
        to_unix(clock_()));
    if (!inserted) return inserted.error();
    const std::int64_t id = *inserted;
    auto logged = audit_.append(actor_, go ? "customer_accepted" : "customer_refused", retailer_serial.substr(0, 32),
                                "decision=" + std::to_string(id) +
                                    (session_id ? " session=" + std::to_string(*session_id) : ""));
    if (!logged) return logged.error();
    return id;
  });
}

Result<std::optional<DecisionRecord>> CardRecords::decision(std::int64_t id) {
  return db_.read_row(
      "SELECT id, retailer_serial, session_id, go, reasons, at FROM decisions WHERE id = ?1", "read decision",
      [](const Statement& s) {
        DecisionRecord d;
        d.id = s.column_int(0);
        d.retailer_serial = s.column_text(1);
        d.session_id = s.column_optional_int(2);
        d.go = s.column_int(3) != 0;
        auto reasons = nlohmann::json::parse(s.column_text(4), nullptr, false);
        if (reasons.is_array()) {
          for (const auto& r : reasons)
            if (r.is_string()) d.reasons.push_back(r.get<std::string>());
        }
        d.at = from_unix(s.column_int(5));
        return d;
      },
      id);
}

Result<std::vector<CardRecordVersion>> CardRecords::history(std::string_view iccid) {
  return db_.read_rows(std::string("SELECT ") + kVersionColumns + " FROM card_records WHERE iccid = ?1 ORDER BY version",
                       "read card history", read_version, iccid);
}

Result<SubscriberKeys> CardRecords::keys_of(std::string_view iccid, int version) {
  auto row = db_.first_row("SELECT sealed_ki, sealed_opc FROM card_records WHERE iccid = ?1 AND version = ?2",
                           "read subscriber keys", iccid, std::int64_t{version});
  if (!row) return row.error();
  const std::string where = version_row(iccid, version);
  if (!*row) return fail("no record version " + where);
  auto ki = open_column(key_, kKiColumn, where, (*row)->column_blob(0));
  auto opc = open_column(key_, kOpcColumn, where, (*row)->column_blob(1));
  if (!ki || !opc || ki->size() != crypto::kAesKeySize || opc->size() != crypto::kAesKeySize) {
    return tampered("Ki/OPc", "card " + where);
  }
  return SubscriberKeys{std::move(ki).value(), std::move(opc).value()};
}

Result<std::string> CardRecords::personal_data(std::int64_t subscriber_id) {
  auto row = db_.first_row("SELECT sealed_personal_data FROM subscribers WHERE id = ?1", "read personal data",
                           subscriber_id);
  if (!row) return row.error();
  const std::string id = std::to_string(subscriber_id);
  if (!*row) return fail("no subscriber " + id);
  auto plain = open_column(key_, kPersonalDataColumn, id, (*row)->column_blob(0));
  if (!plain) return tampered("personal data", "subscriber " + id);
  return std::string(plain->view().begin(), plain->view().end());
}

}  // namespace cardperso::ads
