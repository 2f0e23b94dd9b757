#pragma once
// IMSI and MSISDN pools and the numbers handed out from them.
//
// A pool is prefix || number zero-padded to `width` digits, for first <= number <= last. Every number
// handed out has one row in number_allocations whose primary key is (kind, value): the database itself
// refuses a second allocation of the same number. A number is
//   reserved  - allocated to a card whose personalisation is running,
//   committed - written to a personalised card (its record says so),
//   released  - given back (a personalisation that failed before the card could take it, a number
//               changed by a modification), or on PostgreSQL taken from its pool in a block and not
//               yet on a card; it is reused: allocate() hands out the lowest released number before
//               any fresh one;
//   retired   - it may be on a spoiled card, which is never personalised again: never handed out, so
//               no number is ever on two cards. `adsctl pool` counts them; release_retired() gives them
//               back once the card is known destroyed.
// A failed card keeps its reserved numbers (it may carry them): its retry gets the same ones back.
// So no number is lost: each is fresh, reserved, committed, retired or released-and-reusable. Allocation runs in
// the caller's transaction, so a transaction that rolls back returns its numbers too: to the pool on
// SQLite; on PostgreSQL a block taken apart stays, its numbers released (number_pools.cpp says why).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cardperso/ads/store/audit_log.hpp"
#include "cardperso/ads/store/clock.hpp"
#include "cardperso/ads/store/sqlite_db.hpp"
#include "cardperso/common/result.hpp"

namespace cardperso::ads {

enum class NumberKind { Imsi, Msisdn };
std::string_view to_string(NumberKind kind);
std::optional<NumberKind> parse_number_kind(std::string_view text);

enum class NumberState { Reserved, Committed, Released, Retired };
std::string_view to_string(NumberState state);

struct NumberPool {
  std::int64_t id = 0;
  NumberKind kind = NumberKind::Imsi;
  std::string prefix;
  int width = 0;
  std::int64_t first = 0, last = 0, next = 0;
  Seconds created_at;
  std::int64_t reserved = 0, committed = 0, released = 0, retired = 0;  // numbers of this pool in each state
  std::int64_t never_used() const { return last + 1 - next; }
  std::string value_of(std::int64_t number) const;
};

struct NumberAllocation {
  NumberKind kind = NumberKind::Imsi;
  std::string value;
  std::optional<std::string> iccid;  // empty when released
  NumberState state = NumberState::Reserved;
  Seconds at;
};

class NumberPools {
 public:
  NumberPools(Database& db, AuditLog& audit, std::string actor, Clock clock = system_now);

  // first and last are digit strings; width = digits of `last`. IMSIs are 6..15 digits in all, MSISDNs
  // 3..15 (E.164). Refuses a pool that shares a value with another pool of the same kind. Own transaction.
  Result<std::int64_t> add_pool(NumberKind kind, std::string_view prefix, std::string_view first,
                                std::string_view last);
  Result<std::vector<NumberPool>> list();

  // These run inside the caller's transaction (outside one they throw: programmer error).
  // Reserves a number for the card: the lowest released one, else the next fresh one of the oldest pool
  // with numbers left. Fails clearly when every pool is used up.
  Result<std::string> allocate(NumberKind kind, std::string_view iccid);
  // A personalisation's number: the one of this kind still reserved for the card by an earlier attempt
  // (the card may carry it), else allocate().
  Result<std::string> reserve_for_card(NumberKind kind, std::string_view iccid);
  // reserved (for this card) -> committed.
  Result<void> commit(NumberKind kind, std::string_view value, std::string_view iccid);
  // reserved or committed -> released (reusable).
  Result<void> release(NumberKind kind, std::string_view value);
  // Every number still reserved for the card -> released. Returns how many.
  Result<int> release_reserved(std::string_view iccid);
  // Every number still reserved for the card -> retired (the card is spoiled and may carry them).
  Result<int> retire_reserved(std::string_view iccid);
  // Every number committed to the card -> retired (the card was retired: it may still be in use).
  Result<int> retire_committed(std::string_view iccid);
  // Every number retired with the card -> released (the card was destroyed). Returns how many.
  Result<int> release_retired(std::string_view iccid);

  Result<std::vector<NumberAllocation>> numbers_of(std::string_view iccid);

 private:
  // allocate() once the card has been looked up: a released number, else the next of a pool.
  Result<std::string> allocate_new(NumberKind kind, std::string_view iccid, bool card_exists);
  // The lowest released number of `kind`, reserved for the card; nothing when none is free.
  Result<std::optional<std::string>> take_released(const std::string& kind, std::string_view iccid);
  // Moves the first pool of `kind` with numbers left on by up to `size` numbers and records them
  // (in `db`'s transaction): the first reserved for `iccid` when one is given, the rest released.
  // Its first number, or nothing when every pool is used up.
  Result<std::optional<std::string>> take_block(Database& db, const std::string& kind, std::int64_t size,
                                                const std::string& iccid);

  Database& db_;
  AuditLog& audit_;
  std::string actor_;
  Clock clock_;
};

}  // namespace cardperso::ads
