// The last step of every transaction that appended to the audit log (sqlite_db.hpp, AuditDraft):
// the entries take their places in the chain and are written, just before COMMIT.
#include <string>

#include "cardperso/ads/store/sqlite_db.hpp"
#include "postgres_connection.hpp"

namespace cardperso::ads {

namespace {

// The audit chain's lock on PostgreSQL: a transaction-scoped advisory lock, the same number in every
// daemon ("cardaudt" in ASCII). It orders the appends of concurrent transactions: whoever holds it
// reads the head and writes after it, and keeps it until its COMMIT is done, so the next one reads
// a head that includes those entries. Taken last, after every row lock of the transaction, and held
// while waiting for nothing but the COMMIT: it cannot close a cycle of waits with row locks.
constexpr const char* kAuditChainLock = "SELECT pg_advisory_xact_lock(7161130657953178740)";

// Rows per INSERT: a few fixed sizes, so that few statement texts are prepared per connection.
constexpr std::size_t kChunks[] = {32, 8, 1};
constexpr int kColumns = 8;

std::string insert_sql(std::size_t rows) {
  std::string sql = "INSERT INTO audit_log (seq, at, actor, event, subject, detail, prev_hash, hash) VALUES ";
  int n = 0;
  for (std::size_t r = 0; r < rows; ++r) {
    sql += r == 0 ? "(" : ", (";
    for (int c = 0; c < kColumns; ++c) {
      sql += (c == 0 ? "?" : ", ?") + std::to_string(++n);
    }
    sql += ")";
  }
  return sql;
}

}  // namespace

Result<void> Database::write_audit_drafts() {
  // On PostgreSQL the lock goes out in the same round trip, in front of the read, whose snapshot is
  // then taken after the lock was granted (READ COMMITTED: one snapshot per statement).
  if (pg_) pg_->defer(kAuditChainLock);
  auto head = read_row("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
                       "append audit entry: read the chain's head",
                       [](const Statement& row) { return std::pair{row.column_int(0), row.column_blob(1)}; });
  if (!head) return head.error();
  std::int64_t seq = *head ? (*head)->first : 0;
  Bytes prev = *head ? std::move((*head)->second) : Bytes(32, 0);

  std::size_t done = 0;
  while (done < audit_drafts_.size()) {
    const std::size_t left = audit_drafts_.size() - done;
    std::size_t rows = 1;
    for (auto chunk : kChunks) {
      if (chunk <= left) {
        rows = chunk;
        break;
      }
    }
    auto statement = prepare(insert_sql(rows), "append audit entry: insert");
    if (!statement) return statement.error();
    for (std::size_t i = done; i < done + rows; ++i) {
      const int at = static_cast<int>(i - done) * kColumns;  // ?(at+1) .. ?(at+8)
      const AuditDraft& d = audit_drafts_[i];
      Bytes hash = d.hash(d, ++seq, prev);
      statement->bind(at + 1, seq)
          .bind(at + 2, d.at)
          .bind(at + 3, d.actor)
          .bind(at + 4, d.event)
          .bind(at + 5, d.subject)
          .bind(at + 6, d.detail)
          .bind(at + 7, prev)
          .bind(at + 8, hash);
      prev = std::move(hash);
    }
    if (auto inserted = statement->run(); !inserted) return inserted.error();
    done += rows;
  }
  return {};
}

}  // namespace cardperso::ads
