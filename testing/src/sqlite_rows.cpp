#include "cardperso/testing/sqlite_rows.hpp"

#include <sqlite3.h>

namespace cardperso::testing {

SqlRows query_rows(sqlite3* db, const std::string& sql, const std::vector<std::string>& params) {
  SqlRows out;
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
    out.error = sql + ": " + sqlite3_errmsg(db);
    return out;
  }
  for (std::size_t i = 0; i < params.size(); ++i)
    sqlite3_bind_text(stmt, static_cast<int>(i + 1), params[i].c_str(), -1, SQLITE_TRANSIENT);
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    SqlRow row;
    for (int c = 0; c < sqlite3_column_count(stmt); ++c) {
      const unsigned char* text = sqlite3_column_text(stmt, c);
      row.push_back(text ? std::optional<std::string>(reinterpret_cast<const char*>(text)) : std::nullopt);
    }
    out.rows.push_back(std::move(row));
  }
  if (rc != SQLITE_DONE) out.error = sql + ": " + sqlite3_errmsg(db);
  sqlite3_finalize(stmt);
  return out;
}

}  // namespace cardperso::testing
