#include "cardperso/ads/store/audit_log.hpp"

#include <array>
#include <stdexcept>

#include "cardperso/common/crypto.hpp"

namespace cardperso::ads {

namespace {

constexpr std::size_t kHashSize = 32;
constexpr std::size_t kMaxField = 4096;  // a detail longer than this is a bug in the caller

void put_string(Bytes& out, std::string_view s) {
  put_u32(out, static_cast<std::uint32_t>(s.size()));
  out.insert(out.end(), s.begin(), s.end());
}

Bytes entry_hash(const SecretBytes& key, ByteView prev_hash, const AuditEntry& e) {
  Bytes input;
  static constexpr std::string_view kLabel = "cardperso/v1/audit";
  input.insert(input.end(), kLabel.begin(), kLabel.end());
  input.insert(input.end(), prev_hash.begin(), prev_hash.end());
  put_u64(input, static_cast<std::uint64_t>(e.seq));
  put_u64(input, static_cast<std::uint64_t>(to_unix(e.at)));
  put_string(input, e.actor);
  put_string(input, e.event);
  put_string(input, e.subject);
  put_string(input, e.detail);
  const auto mac = crypto::hmac_sha256(key.view(), input);
  return Bytes(mac.begin(), mac.end());
}

}  // namespace

AuditLog::AuditLog(Database& db, const MasterKey& key, Clock clock)
    : db_(db),
      chain_key_(std::make_shared<const SecretBytes>(key.derive("cardperso/v1/ads-audit-chain", kHashSize))),
      clock_(std::move(clock)) {}

Result<void> AuditLog::append(std::string_view actor, std::string_view event, std::string_view subject,
                              std::string_view detail) {
  if (!db_.in_transaction()) throw std::logic_error("AuditLog::append called outside a transaction");
  for (auto field : {actor, event, subject, detail}) {
    if (field.size() > kMaxField) throw std::invalid_argument("AuditLog::append: field longer than 4096 bytes");
  }
  Database::AuditDraft draft;
  draft.at = to_unix(clock_());
  draft.actor = actor;
  draft.event = event;
  draft.subject = subject;
  draft.detail = detail;
  // The hash is made when the entry gets its place, just before COMMIT (sqlite_db.hpp). The key is
  // shared with the draft, which may outlive this AuditLog (a group commits later).
  draft.hash = [key = chain_key_](const Database::AuditDraft& d, std::int64_t seq, ByteView prev_hash) {
    return entry_hash(*key, prev_hash, AuditEntry{seq, from_unix(d.at), d.actor, d.event, d.subject, d.detail});
  };
  db_.add_audit_draft(std::move(draft));
  return {};
}

Result<std::vector<AuditEntry>> AuditLog::last(int n) {
  return db_.read_rows(
      "SELECT seq, at, actor, event, subject, detail FROM "
      "(SELECT * FROM audit_log ORDER BY seq DESC LIMIT ?1) AS newest ORDER BY seq ASC",
      "read audit log",
      [](const Statement& s) {
        return AuditEntry{s.column_int(0),  from_unix(s.column_int(1)), s.column_text(2),
                          s.column_text(3), s.column_text(4),           s.column_text(5)};
      },
      std::int64_t{n});
}

Result<AuditVerification> AuditLog::verify() {
  auto stmt = db_.prepare(
      "SELECT seq, at, actor, event, subject, detail, prev_hash, hash FROM audit_log ORDER BY seq ASC",
      "verify audit log");
  if (!stmt) return stmt.error();
  AuditVerification report;
  Bytes expected_prev(kHashSize, 0);
  std::int64_t expected_seq = 1;
  for (;;) {
    auto row = stmt->step();
    if (!row) return row.error();
    if (!*row) break;
    AuditEntry e{stmt->column_int(0), from_unix(stmt->column_int(1)), stmt->column_text(2),
                 stmt->column_text(3), stmt->column_text(4), stmt->column_text(5)};
    const Bytes prev_hash = stmt->column_blob(6);
    const Bytes hash = stmt->column_blob(7);
    auto broken = [&](std::string problem) {
      report.first_broken_seq = e.seq;
      report.problem = std::move(problem);
      return report;
    };
    if (e.seq != expected_seq) {
      return broken("entry " + std::to_string(expected_seq) + " is missing (next entry is " + std::to_string(e.seq) + ")");
    }
    if (!crypto::ct_equal(prev_hash, expected_prev)) {
      return broken("entry " + std::to_string(e.seq) + " does not link to entry " + std::to_string(e.seq - 1));
    }
    if (!crypto::ct_equal(hash, entry_hash(*chain_key_, prev_hash, e))) {
      return broken("entry " + std::to_string(e.seq) + " was altered after it was written (or the master key is wrong)");
    }
    expected_prev = hash;
    ++expected_seq;
    ++report.entries_checked;
  }
  return report;
}

}  // namespace cardperso::ads
