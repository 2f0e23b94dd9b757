#include "cardperso/ads/store/number_pools.hpp"

#include <algorithm>

#include "enum_names.hpp"
#include "store_guards.hpp"

namespace cardperso::ads {

namespace {

using detail::require_transaction;

constexpr detail::EnumName<NumberKind> kKindNames[] = {{NumberKind::Imsi, "imsi"}, {NumberKind::Msisdn, "msisdn"}};
constexpr detail::EnumName<NumberState> kStateNames[] = {
    {NumberState::Reserved, "reserved"},
    {NumberState::Committed, "committed"},
    {NumberState::Released, "released"},
    {NumberState::Retired, "retired"},
};

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::int64_t pow10(int n) {
  std::int64_t v = 1;
  while (n-- > 0) v *= 10;
  return v;
}

NumberState parse_state(std::string_view s) {
  return detail::parse_name(kStateNames, s).value_or(NumberState::Reserved);  // the CHECK constraint admits no other
}

NumberPool read_pool(const Statement& s) {
  NumberPool p;
  p.id = s.column_int(0);
  p.kind = parse_number_kind(s.column_text(1)).value_or(NumberKind::Imsi);
  p.prefix = s.column_text(2);
  p.width = static_cast<int>(s.column_int(3));
  p.first = s.column_int(4);
  p.last = s.column_int(5);
  p.next = s.column_int(6);
  p.created_at = from_unix(s.column_int(7));
  p.reserved = s.column_int(8);
  p.committed = s.column_int(9);
  p.released = s.column_int(10);
  p.retired = s.column_int(11);
  return p;
}

// The pool's values as one interval of `total`-digit numbers, for the overlap check.
struct Span {
  std::size_t total;
  std::int64_t low, high;
};
Span span_of(std::string_view prefix, int width, std::int64_t first, std::int64_t last) {
  const std::int64_t base = prefix.empty() ? 0 : std::stoll(std::string(prefix)) * pow10(width);
  return {prefix.size() + static_cast<std::size_t>(width), base + first, base + last};
}

}  // namespace

std::string_view to_string(NumberKind kind) { return detail::name_of(kKindNames, kind).value_or("msisdn"); }

std::optional<NumberKind> parse_number_kind(std::string_view text) { return detail::parse_name(kKindNames, text); }

std::string_view to_string(NumberState state) { return detail::name_of(kStateNames, state).value_or("reserved"); }

std::string NumberPool::value_of(std::int64_t number) const {
  std::string digits = std::to_string(number);
  return prefix + std::string(static_cast<std::size_t>(width) - std::min(digits.size(), std::size_t(width)), '0') +
         digits;
}

NumberPools::NumberPools(Database& db, AuditLog& audit, std::string actor, Clock clock)
    : db_(db), audit_(audit), actor_(std::move(actor)), clock_(std::move(clock)) {}

Result<std::int64_t> NumberPools::add_pool(NumberKind kind, std::string_view prefix, std::string_view first,
                                           std::string_view last) {
  const std::string k(to_string(kind));
  if (!prefix.empty() && !all_digits(prefix)) return fail("the " + k + " prefix must be decimal digits");
  if (!all_digits(first) || !all_digits(last)) return fail("--first and --last must be decimal digits");
  const int width = static_cast<int>(last.size());
  if (first.size() > last.size()) return fail("--first has more digits than --last");
  const std::size_t total = prefix.size() + last.size();
  const std::size_t min_total = kind == NumberKind::Imsi ? 6 : 3;
  if (total < min_total || total > 15) {
    return fail("an " + k + " has " + std::to_string(min_total) + " to 15 digits; prefix + --last has " +
                std::to_string(total));
  }
  const std::int64_t lo = std::stoll(std::string(first)), hi = std::stoll(std::string(last));
  if (lo > hi) return fail("--first is greater than --last");
  const Span mine = span_of(prefix, width, lo, hi);

  return db_.with_transaction([&]() -> Result<std::int64_t> {
    auto existing = list();
    if (!existing) return existing.error();
    for (const auto& p : *existing) {
      if (p.kind != kind) continue;
      const Span other = span_of(p.prefix, p.width, p.first, p.last);
      if (other.total == mine.total && other.low <= mine.high && mine.low <= other.high) {
        return fail("this " + k + " pool overlaps pool " + std::to_string(p.id) + " (" + p.value_of(p.first) + ".." +
                    p.value_of(p.last) + "); a number must belong to one pool only");
      }
    }
    auto inserted = db_.insert_id(
        "INSERT INTO number_pools (kind, prefix, width, first, last, next, created_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?4, ?6) RETURNING id",
        "add number pool: insert", to_string(kind), prefix, std::int64_t{width}, lo, hi, to_unix(clock_()));
    if (!inserted) return inserted.error();
    const std::int64_t id = *inserted;
    NumberPool p;
    p.prefix = std::string(prefix);
    p.width = width;
    auto logged = audit_.append(actor_, "number_pool_added", k + " pool " + std::to_string(id),
                                p.value_of(lo) + ".." + p.value_of(hi));
    if (!logged) return logged.error();
    return id;
  });
}

Result<std::vector<NumberPool>> NumberPools::list() {
  return db_.read_rows(
      "SELECT p.id, p.kind, p.prefix, p.width, p.first, p.last, p.next, p.created_at, "
      "  (SELECT count(*) FROM number_allocations a WHERE a.pool_id = p.id AND a.state = 'reserved'), "
      "  (SELECT count(*) FROM number_allocations a WHERE a.pool_id = p.id AND a.state = 'committed'), "
      "  (SELECT count(*) FROM number_allocations a WHERE a.pool_id = p.id AND a.state = 'released'), "
      "  (SELECT count(*) FROM number_allocations a WHERE a.pool_id = p.id AND a.state = 'retired') "
      "FROM number_pools p ORDER BY p.kind, p.id",
      "list number pools", read_pool);
}

namespace {

// What allocating a number for a card depends on, read in one statement: whether the card exists and
// the number of this kind already reserved for it (reserve_for_card).
struct AllocationLookup {
  bool card_exists = false;
  std::optional<std::string> own;
};

Result<AllocationLookup> look_up_allocation(Database& db, const std::string& kind, std::string_view iccid) {
  // `kind || ''` and `value || ''` (expressions, not columns) keep the planner on the iccid index (a
  // card has at most a few rows): left to itself it walks the (kind, value) primary key in order to
  // skip the sort, which reads every number of the kind and made each reservation slower as the pool
  // filled.
  auto row = db.read_row(
      "SELECT (SELECT count(*) FROM cards WHERE iccid = ?2), "
      "  (SELECT value FROM number_allocations WHERE kind || '' = ?1 AND iccid = ?2 AND state = 'reserved' "
      "   ORDER BY value || '' LIMIT 1)",
      "allocate number: look up the card and its numbers",
      [](const Statement& r) { return AllocationLookup{r.column_int(0) > 0, r.column_optional_text(1)}; }, kind,
      iccid);
  if (!row) return row.error();
  if (!*row) return fail("database error during allocate number: the lookup returned no row");
  return std::move(**row);
}

// Several daemons allocate at once on PostgreSQL, with no lock ordering their transactions
// (postgres_connection.hpp). So that none waits for another's transaction:
// - the lowest released number is taken FOR UPDATE SKIP LOCKED: one that another transaction is
//   taking is passed over, not waited for;
// - a pool hands its numbers out in blocks, taken in a short transaction of their own
//   (Database::run_apart) and recorded as released rows: the pool's row is locked only for that
//   transaction, never for the rest of a daemon's (two daemons each holding one pool and wanting
//   the other's would deadlock). A block taken by a transaction that later fails is not lost: its
//   numbers stay released.
// On SQLite (one writer) numbers go one at a time, lowest first, as always, inside the transaction.
// Either way every number below a pool's `next` has its allocation row.
constexpr std::int64_t kPostgresBlock = 16;

std::string multi_row_insert(std::int64_t rows) {
  std::string sql = "INSERT INTO number_allocations (kind, value, pool_id, iccid, state, at) VALUES ";
  for (std::int64_t r = 0; r < rows; ++r) {
    sql += (r == 0 ? "(?1, ?" : ", (?1, ?") + std::to_string(r * 4 + 2) + ", ?" + std::to_string(r * 4 + 3) + ", ?" +
           std::to_string(r * 4 + 4) + ", ?" + std::to_string(r * 4 + 5) + ", ?" + std::to_string(rows * 4 + 2) + ")";
  }
  return sql;
}

}  // namespace

Result<std::string> NumberPools::allocate(NumberKind kind, std::string_view iccid) {
  require_transaction(db_, "NumberPools::allocate");
  auto lookup = look_up_allocation(db_, std::string(to_string(kind)), iccid);
  if (!lookup) return lookup.error();
  return allocate_new(kind, iccid, lookup->card_exists);
}

Result<std::optional<std::string>> NumberPools::take_released(const std::string& kind, std::string_view iccid) {
  const bool concurrent = db_.backend() == Backend::Postgres;
  return db_.read_row(
      std::string("UPDATE number_allocations SET state = 'reserved', iccid = ?2, at = ?3 "
                  "WHERE kind = ?1 AND state = 'released' AND value = (SELECT value FROM number_allocations "
                  "WHERE kind = ?1 AND state = 'released' ORDER BY value LIMIT 1") +
          (concurrent ? " FOR UPDATE SKIP LOCKED" : "") + ") RETURNING value",
      "allocate number: reserve a released one", [](const Statement& row) { return row.column_text(0); }, kind, iccid,
      to_unix(clock_()));
}

Result<std::string> NumberPools::allocate_new(NumberKind kind, std::string_view iccid, bool card_exists) {
  const std::string k(to_string(kind));
  if (!card_exists) return fail("cannot allocate an " + k + " to unknown card " + std::string(iccid));
  const bool concurrent = db_.backend() == Backend::Postgres;

  // A released number first, so that nothing given back is lost; then a new block of a pool, whose
  // numbers other daemons may take before this one does (so a few tries).
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto released = take_released(k, iccid);
    if (!released) return released.error();
    if (*released) return std::move(**released);
    std::optional<std::string> first;
    auto block = db_.run_apart([&](Database& db) -> Result<void> {
      first.reset();
      auto taken = take_block(db, k, concurrent ? kPostgresBlock : 1, concurrent ? "" : std::string(iccid));
      if (!taken) return taken.error();
      first = std::move(*taken);
      return {};
    });
    if (!block) return block.error();
    if (!first) {
      return fail("no " + k + " left: every " + k + " pool is used up and none was released; add a pool with "
                  "`adsctl pool add --kind " + k + " ...`");
    }
    if (!concurrent) return *first;  // reserved for this card by take_block
  }
  return fail("allocate number: every " + k + " just released was taken by another daemon; try again");
}

Result<std::optional<std::string>> NumberPools::take_block(Database& db, const std::string& kind, std::int64_t size,
                                                            const std::string& iccid) {
  // FOR UPDATE: a pool another daemon is taking a block of is waited for (that takes a moment: no
  // other lock is held meanwhile). PostgreSQL re-reads it after the wait; it may be used up then, so
  // the next pool is looked at once more.
  const bool concurrent = db.backend() == Backend::Postgres;
  struct Taken {
    NumberPool pool;
    std::int64_t next = 0;
    std::int64_t last = 0;
  };
  std::optional<Taken> taken;
  for (int look = 0; look < 2 && !taken; ++look) {
    auto row = db.read_row(std::string("SELECT id, prefix, width, next, last FROM number_pools WHERE kind = ?1 AND "
                                       "next <= last ORDER BY id LIMIT 1") +
                               (concurrent ? " FOR UPDATE" : ""),
                           "allocate number: find a pool with numbers left",
                           [](const Statement& r) {
                             Taken t;
                             t.pool.id = r.column_int(0);
                             t.pool.prefix = r.column_text(1);
                             t.pool.width = static_cast<int>(r.column_int(2));
                             t.next = r.column_int(3);
                             t.last = r.column_int(4);
                             return t;
                           },
                           kind);
    if (!row) return row.error();
    taken = std::move(*row);
    if (!concurrent) break;
  }
  if (!taken) return std::optional<std::string>{};
  const std::int64_t block = std::min(size, taken->last - taken->next + 1);
  auto moved = db.update("UPDATE number_pools SET next = ?2 WHERE id = ?1 AND next = ?3",
                         "allocate number: take numbers from a pool", taken->pool.id, taken->next + block, taken->next);
  if (!moved) return moved.error();
  if (*moved != 1) return fail("allocate number: the " + kind + " pool changed meanwhile; try again");

  // The primary key (kind, value) refuses a number that was ever handed out before. With a card
  // given, the first of the block is reserved for it; the others are released, for later ones.
  auto insert = db.prepare(multi_row_insert(block), "allocate number: record the allocation");
  if (!insert) return insert.error();
  const std::int64_t now = to_unix(clock_());
  insert->bind(1, kind).bind(static_cast<int>(block * 4 + 2), now);
  for (std::int64_t i = 0; i < block; ++i) {
    const int at = static_cast<int>(i * 4);
    insert->bind(at + 2, taken->pool.value_of(taken->next + i)).bind(at + 3, taken->pool.id);
    if (i == 0 && !iccid.empty()) {
      insert->bind(at + 4, iccid).bind(at + 5, "reserved");
    } else {
      insert->bind_null(at + 4).bind(at + 5, "released");
    }
  }
  if (auto recorded = insert->run(); !recorded) return recorded.error();
  return std::optional<std::string>{taken->pool.value_of(taken->next)};
}

Result<std::string> NumberPools::reserve_for_card(NumberKind kind, std::string_view iccid) {
  require_transaction(db_, "NumberPools::reserve_for_card");
  auto lookup = look_up_allocation(db_, std::string(to_string(kind)), iccid);
  if (!lookup) return lookup.error();
  if (lookup->own) return *lookup->own;
  return allocate_new(kind, iccid, lookup->card_exists);
}

Result<void> NumberPools::commit(NumberKind kind, std::string_view value, std::string_view iccid) {
  require_transaction(db_, "NumberPools::commit");
  auto updated = db_.update(
      "UPDATE number_allocations SET state = 'committed', at = ?4 "
      "WHERE kind = ?1 AND value = ?2 AND iccid = ?3 AND state = 'reserved'",
      "commit number", to_string(kind), value, iccid, to_unix(clock_()));
  if (!updated) return updated.error();
  if (*updated != 1) {
    return fail(std::string(to_string(kind)) + " " + std::string(value) + " is not reserved for card " +
                std::string(iccid) + "; allocate it for this card first");
  }
  return {};
}

Result<void> NumberPools::release(NumberKind kind, std::string_view value) {
  require_transaction(db_, "NumberPools::release");
  auto updated = db_.update(
      "UPDATE number_allocations SET state = 'released', iccid = NULL, at = ?3 "
      "WHERE kind = ?1 AND value = ?2 AND state IN ('reserved', 'committed')",
      "release number", to_string(kind), value, to_unix(clock_()));
  if (!updated) return updated.error();
  if (*updated != 1) {
    return fail(std::string(to_string(kind)) + " " + std::string(value) + " is not allocated; nothing to release");
  }
  return {};
}

Result<int> NumberPools::release_reserved(std::string_view iccid) {
  require_transaction(db_, "NumberPools::release_reserved");
  return db_.update(
      "UPDATE number_allocations SET state = 'released', iccid = NULL, at = ?2 WHERE iccid = ?1 AND state = 'reserved'",
      "release reserved numbers", iccid, to_unix(clock_()));
}

Result<int> NumberPools::retire_reserved(std::string_view iccid) {
  require_transaction(db_, "NumberPools::retire_reserved");
  return db_.update("UPDATE number_allocations SET state = 'retired', at = ?2 WHERE iccid = ?1 AND state = 'reserved'",
                    "retire reserved numbers", iccid, to_unix(clock_()));
}

Result<int> NumberPools::retire_committed(std::string_view iccid) {
  require_transaction(db_, "NumberPools::retire_committed");
  return db_.update("UPDATE number_allocations SET state = 'retired', at = ?2 WHERE iccid = ?1 AND state = 'committed'",
                    "retire committed numbers", iccid, to_unix(clock_()));
}

Result<int> NumberPools::release_retired(std::string_view iccid) {
  return db_.with_transaction([&]() -> Result<int> {
    auto card = db_.first_row("SELECT state FROM cards WHERE iccid = ?1", "release retired numbers: look up card", iccid);
    if (!card) return card.error();
    if (!*card) return fail("card " + std::string(iccid) + " is not in the stock");
    const std::string state = (*card)->column_text(0);
    if (state != "spoiled")
      return fail("card " + std::string(iccid) + " is " + state + "; only a spoiled card's retired numbers can be released");
    auto released = db_.update(
        "UPDATE number_allocations SET state = 'released', iccid = NULL, at = ?2 WHERE iccid = ?1 AND state = 'retired'",
        "release retired numbers", iccid, to_unix(clock_()));
    if (!released) return released.error();
    auto logged = audit_.append(actor_, "retired_numbers_released", iccid,
                                "released=" + std::to_string(*released) + " (the spoiled card was destroyed)");
    if (!logged) return logged.error();
    return *released;
  });
}

Result<std::vector<NumberAllocation>> NumberPools::numbers_of(std::string_view iccid) {
  return db_.read_rows(
      "SELECT kind, value, iccid, state, at FROM number_allocations WHERE iccid = ?1 ORDER BY kind, value",
      "list a card's numbers",
      [](const Statement& s) {
        NumberAllocation a;
        a.kind = parse_number_kind(s.column_text(0)).value_or(NumberKind::Imsi);
        a.value = s.column_text(1);
        if (!s.column_is_null(2)) a.iccid = s.column_text(2);
        a.state = parse_state(s.column_text(3));
        a.at = from_unix(s.column_int(4));
        return a;
      },
      iccid);
}

}  // namespace cardperso::ads
