#pragma once
// Plain SQL reads of a database file for the checks (the C API, so a check does not trust the
// store's own code to read what the store's own code wrote).
#include <optional>
#include <string>
#include <vector>

struct sqlite3;

namespace cardperso::testing {

using SqlRow = std::vector<std::optional<std::string>>;  // every column as text, nullopt = NULL

struct SqlRows {
  std::vector<SqlRow> rows;  // those read before any error
  std::string error;         // "" or "<sql>: <reason>"
};

SqlRows query_rows(sqlite3* db, const std::string& sql, const std::vector<std::string>& params = {});

}  // namespace cardperso::testing
