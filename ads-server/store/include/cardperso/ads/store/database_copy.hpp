#pragma once
// Copying an ADS from SQLite to PostgreSQL (`adsctl migrate`). The table list comes from the source
// itself (sqlite_schema), so a table added by a later migration is copied without a change here.
// Values are copied as they are, by each value's SQLite type: sealed columns stay the same sealed
// blobs under the same master key, which this code never holds.
#include <cstdint>
#include <string>
#include <vector>

#include "cardperso/ads/store/sqlite_db.hpp"
#include "cardperso/common/result.hpp"

namespace cardperso::ads {

struct TableRows {
  std::string table;
  std::int64_t rows = 0;
};

// The source's tables (SQLite's own sqlite_* left out), each after every table its foreign keys
// refer to, so that inserting them in this order never meets a missing parent row.
Result<std::vector<std::string>> tables_in_copy_order(Database& sqlite_source);

// Copies every row of every table of `sqlite_source` into `postgres_target`, which must already hold
// the same schema (open_ads_database) and no rows. All in one target transaction: on any failure the
// target is left without a copied row. Before committing, the row counts of both sides are compared,
// and every identity sequence of the target (an `INTEGER PRIMARY KEY` in SQLite) is moved past the
// copied ids, so that the next insert on PostgreSQL does not collide with a copied row.
// Run it inside a source transaction, so that what is copied is one snapshot.
// Returns the rows copied per table, in copy order.
Result<std::vector<TableRows>> copy_ads_tables(Database& sqlite_source, Database& postgres_target);

// SELECT count(*) of each of `tables` in `db`, in the same order.
Result<std::vector<TableRows>> count_rows(Database& db, const std::vector<std::string>& tables);

}  // namespace cardperso::ads
