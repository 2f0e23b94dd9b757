#include "cardperso/ads/store/retailer_store.hpp"

#include <algorithm>

#include "cardperso/common/crypto.hpp"
#include "enum_names.hpp"

namespace cardperso::ads {

namespace {

constexpr std::string_view kKeysColumn = "retailers.keys";
constexpr std::string_view kIssuerCodeColumn = "retailers.issuer_code";
constexpr std::size_t kKeyFileSize = 1 + 4 * crypto::kAesKeySize;  // as on the card: version || 4 keys

constexpr const char* kSummaryColumns =
    "serial, status, key_version, failed_auth_count, first_failure_at, created_at, updated_at, locked_until, lockouts";
constexpr int kSummaryColumnCount = 9;

constexpr detail::EnumName<RetailerStatus> kStatusNames[] = {
    {RetailerStatus::Active, "active"}, {RetailerStatus::Revoked, "revoked"}, {RetailerStatus::Locked, "locked"}};

RetailerStatus parse_status(std::string_view text) {
  return detail::parse_name(kStatusNames, text).value_or(RetailerStatus::Active);  // the CHECK constraint admits no other
}

RetailerSummary read_summary(const Statement& s) {
  RetailerSummary r;
  r.serial = s.column_text(0);
  r.status = parse_status(s.column_text(1));
  r.key_version = static_cast<int>(s.column_int(2));
  r.failed_auth_count = static_cast<int>(s.column_int(3));
  if (auto first = s.column_optional_int(4)) r.first_failure_at = from_unix(*first);
  r.created_at = from_unix(s.column_int(5));
  r.updated_at = from_unix(s.column_int(6));
  if (auto until = s.column_optional_int(7)) r.locked_until = from_unix(*until);
  r.lockouts = static_cast<int>(s.column_int(8));
  return r;
}

Error tampered(std::string_view what, std::string_view serial) {
  return fail("stored " + std::string(what) + " for retailer " + std::string(serial) +
              " fail authentication: the database was altered or the master key is wrong; restore from backup");
}

Error unknown(std::string_view serial) {
  return fail("no retailer with serial " + std::string(serial) + "; check the number with `adsctl retailer list`");
}

// A looked-up retailer that must exist: "no retailer with serial ..." when it does not.
Result<RetailerSummary> enrolled(Result<std::optional<RetailerSummary>> found, std::string_view serial) {
  if (!found) return found.error();
  if (!found->has_value()) return unknown(serial);
  return std::move(**found);
}

}  // namespace

std::string_view to_string(RetailerStatus status) { return detail::name_of(kStatusNames, status).value_or("active"); }

Result<void> check_retailer_serial(std::string_view serial) {
  const bool digits = std::all_of(serial.begin(), serial.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (serial.size() < 10 || serial.size() > 20 || !digits) {
    return fail("retailer serial must be 10 to 20 decimal digits");
  }
  return {};
}

RetailerStore::RetailerStore(Database& db, const MasterKey& key, AuditLog& audit, std::string actor,
                             LockoutPolicy policy, Clock clock)
    : db_(db), key_(key), audit_(audit), actor_(std::move(actor)), policy_(policy), clock_(std::move(clock)) {}

Result<std::optional<RetailerSummary>> RetailerStore::summary_of(std::string_view serial, std::string_view what) {
  // Inside a transaction (failure counts, lockouts) the row is locked against other daemons'.
  return db_.read_row(std::string("SELECT ") + kSummaryColumns + " FROM retailers WHERE serial = ?1" + db_.row_lock_sql(),
                      what, read_summary, serial);
}

Result<void> RetailerStore::enrol(std::string_view serial, const RetailerKeys& keys, ByteView issuer_code) {
  if (auto ok = check_retailer_serial(serial); !ok) return ok;
  for (const SecretBytes* k : {&keys.k_ra, &keys.k_ia, &keys.k_s, &keys.k_d}) {
    if (k->size() != crypto::kAesKeySize) return fail("retailer keys must be 16 bytes each (AES-128)");
  }
  if (issuer_code.size() != kIssuerCodeSize) return fail("the issuer code must be 8 bytes");

  SecretBytes plain(kKeyFileSize);
  plain[0] = keys.key_version;
  std::size_t at = 1;
  for (const SecretBytes* k : {&keys.k_ra, &keys.k_ia, &keys.k_s, &keys.k_d}) {
    std::copy(k->data(), k->data() + k->size(), plain.data() + at);
    at += k->size();
  }
  const Bytes sealed_keys = seal_column(key_, kKeysColumn, serial, plain.view());
  const Bytes sealed_code = seal_column(key_, kIssuerCodeColumn, serial, issuer_code);

  return db_.with_transaction([&]() -> Result<void> {
    auto existing = summary_of(serial, "enrol retailer: look up serial");
    if (!existing) return existing.error();
    if (existing->has_value()) {
      return fail("retailer " + std::string(serial) + " is already enrolled (status " +
                  std::string(to_string((*existing)->status)) + "); a serial is never reused");
    }
    auto inserted = db_.run(
        "INSERT INTO retailers (serial, status, key_version, sealed_keys, sealed_issuer_code, failed_auth_count, "
        "first_failure_at, created_at, updated_at) VALUES (?1, 'active', ?2, ?3, ?4, 0, NULL, ?5, ?5)",
        "enrol retailer: insert", serial, std::int64_t{keys.key_version}, sealed_keys, sealed_code, to_unix(clock_()));
    if (!inserted) return inserted;
    auto logged = audit_.append(actor_, "retailer_enrolled", serial, "key_version=" + std::to_string(keys.key_version));
    if (!logged) return logged.error();
    return {};
  });
}

Result<std::optional<RetailerRecord>> RetailerStore::find(std::string_view serial) {
  auto row = db_.first_row(std::string("SELECT ") + kSummaryColumns + ", sealed_keys FROM retailers WHERE serial = ?1",
                           "find retailer", serial);
  if (!row) return row.error();
  if (!*row) return std::optional<RetailerRecord>{};
  RetailerRecord record;
  static_cast<RetailerSummary&>(record) = read_summary(**row);
  const Bytes blob = (*row)->column_blob(kSummaryColumnCount);
  auto plain = open_column(key_, kKeysColumn, record.serial, blob);
  if (!plain) return tampered("keys", record.serial);
  if (plain->size() != kKeyFileSize || (*plain)[0] != record.key_version) return tampered("keys", record.serial);
  record.keys.key_version = (*plain)[0];
  SecretBytes* targets[] = {&record.keys.k_ra, &record.keys.k_ia, &record.keys.k_s, &record.keys.k_d};
  for (std::size_t i = 0; i < 4; ++i) {
    *targets[i] = SecretBytes(plain->view().subspan(1 + i * crypto::kAesKeySize, crypto::kAesKeySize));
  }
  return std::optional<RetailerRecord>{std::move(record)};
}

Result<SecretBytes> RetailerStore::issuer_code(std::string_view serial) {
  auto row = db_.first_row("SELECT sealed_issuer_code FROM retailers WHERE serial = ?1", "read issuer code", serial);
  if (!row) return row.error();
  if (!*row) return unknown(serial);
  auto code = open_column(key_, kIssuerCodeColumn, serial, (*row)->column_blob(0));
  if (!code || code->size() != kIssuerCodeSize) return tampered("issuer code", serial);
  return std::move(code).value();
}

Result<std::vector<RetailerSummary>> RetailerStore::list() {
  return db_.read_rows(std::string("SELECT ") + kSummaryColumns + " FROM retailers ORDER BY created_at, serial",
                       "list retailers", read_summary);
}

Result<void> RetailerStore::revoke(std::string_view serial) {
  return db_.with_transaction([&]() -> Result<void> {
    auto current = enrolled(summary_of(serial, "revoke retailer: look up serial"), serial);
    if (!current) return current.error();
    if (current->status == RetailerStatus::Revoked) {
      return fail("retailer " + std::string(serial) + " is already revoked");
    }
    auto updated = db_.run("UPDATE retailers SET status = 'revoked', updated_at = ?2 WHERE serial = ?1",
                           "revoke retailer: update", serial, to_unix(clock_()));
    if (!updated) return updated;
    auto logged = audit_.append(actor_, "retailer_revoked", serial,
                                "previous_status=" + std::string(to_string(current->status)));
    if (!logged) return logged.error();
    return {};
  });
}

Result<void> RetailerStore::unlock(std::string_view serial) {
  return db_.with_transaction([&]() -> Result<void> {
    auto current = enrolled(summary_of(serial, "unlock retailer: look up serial"), serial);
    if (!current) return current.error();
    const RetailerSummary& r = *current;
    if (r.status == RetailerStatus::Revoked) {
      return fail("retailer " + std::string(serial) + " is revoked; revocation is final: enrol a new card");
    }
    auto updated = db_.run(
        "UPDATE retailers SET status = 'active', failed_auth_count = 0, first_failure_at = NULL, locked_until = NULL, "
        "lockouts = 0, updated_at = ?2 WHERE serial = ?1",
        "unlock retailer: update", serial, to_unix(clock_()));
    if (!updated) return updated;
    auto logged = audit_.append(actor_, "retailer_unlocked", serial,
                                "previous_status=" + std::string(to_string(r.status)) +
                                    " failures_cleared=" + std::to_string(r.failed_auth_count));
    if (!logged) return logged.error();
    return {};
  });
}

Result<AuthFailureOutcome> RetailerStore::record_auth_failure(std::string_view serial, Seconds now) {
  return db_.with_transaction([&]() -> Result<AuthFailureOutcome> {
    auto current = enrolled(summary_of(serial, "record authentication failure: look up serial"), serial);
    if (!current) return current.error();
    const RetailerSummary& r = *current;
    // A fixed window opened by the first failure: within it failures add up; after it, counting restarts.
    AuthFailureOutcome out;
    Seconds first = now;
    if (r.first_failure_at && r.failed_auth_count > 0 && now >= *r.first_failure_at &&
        now - *r.first_failure_at < policy_.window) {
      first = *r.first_failure_at;
      out.failures = r.failed_auth_count + 1;
    } else {
      out.failures = 1;
    }
    out.status = r.status;
    int lockouts = r.lockouts;
    // 0 for "no lock end" (NULLIF below): GCC 12 warns wrongly about a std::optional bound here.
    std::int64_t locked_until = r.locked_until ? to_unix(*r.locked_until) : 0;
    if (r.status == RetailerStatus::Active && out.failures >= policy_.max_failures) {
      out.status = RetailerStatus::Locked;
      out.locked_now = true;
      // 15 min, 30 min, 1 h, ... for locks in a row, never longer than the cap.
      auto backoff = policy_.backoff;
      for (int i = 0; i < lockouts && backoff < policy_.max_backoff; ++i) backoff *= 2;
      backoff = std::min(backoff, policy_.max_backoff);
      out.locked_until = now + backoff;
      locked_until = to_unix(now + backoff);
      ++lockouts;
    }
    auto updated = db_.run(
        "UPDATE retailers SET failed_auth_count = ?2, first_failure_at = ?3, status = ?4, updated_at = ?5, "
        "locked_until = NULLIF(?6, 0), lockouts = ?7 WHERE serial = ?1",
        "record authentication failure: update", serial, std::int64_t{out.failures}, to_unix(first),
        to_string(out.status), to_unix(now), locked_until, std::int64_t{lockouts});
    if (!updated) return updated.error();
    auto logged = audit_.append(actor_, "retailer_auth_failed", serial,
                                "failures_in_window=" + std::to_string(out.failures));
    if (!logged) return logged.error();
    if (out.locked_now) {
      auto locked = audit_.append(actor_, "retailer_locked", serial,
                                  std::to_string(out.failures) + " failed authentications within " +
                                      std::to_string(policy_.window.count()) + " s; locked until " +
                                      std::to_string(locked_until) + " (lockout " + std::to_string(lockouts) +
                                      " in a row)");
      if (!locked) return locked.error();
    }
    return out;
  });
}

Result<void> RetailerStore::record_auth_success(std::string_view serial) {
  return db_.with_transaction([&]() -> Result<void> {
    auto current = enrolled(summary_of(serial, "record authentication success: look up serial"), serial);
    if (!current) return current.error();
    const RetailerSummary& r = *current;
    if (r.failed_auth_count == 0 && !r.first_failure_at && r.lockouts == 0) return {};  // nothing to change or log
    auto updated = db_.run(
        "UPDATE retailers SET failed_auth_count = 0, first_failure_at = NULL, lockouts = 0, updated_at = ?2 "
        "WHERE serial = ?1",
        "record authentication success: update", serial, to_unix(clock_()));
    if (!updated) return updated;
    auto logged = audit_.append(actor_, "retailer_failures_reset", serial,
                                "authenticated after " + std::to_string(r.failed_auth_count) + " failures");
    if (!logged) return logged.error();
    return {};
  });
}

Result<bool> RetailerStore::expire_lock(std::string_view serial, Seconds now) {
  return db_.with_transaction([&]() -> Result<bool> {
    auto current = enrolled(summary_of(serial, "expire lock: look up serial"), serial);
    if (!current) return current.error();
    if (current->status != RetailerStatus::Locked || !current->locked_until || now < *current->locked_until) return false;
    auto updated = db_.run(
        "UPDATE retailers SET status = 'active', failed_auth_count = 0, first_failure_at = NULL, locked_until = NULL, "
        "updated_at = ?2 WHERE serial = ?1 AND status = 'locked'",
        "expire lock: update", serial, to_unix(now));
    if (!updated) return updated.error();
    auto logged = audit_.append(actor_, "retailer_lock_expired", serial,
                                "locked until " + std::to_string(to_unix(*current->locked_until)) + "; lockouts in a row: " +
                                    std::to_string(current->lockouts));
    if (!logged) return logged.error();
    return true;
  });
}

}  // namespace cardperso::ads
