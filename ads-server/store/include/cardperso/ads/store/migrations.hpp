#pragma once
// The schema, versioned (SQLite: PRAGMA user_version; PostgreSQL: the ads_schema_version table). Migration N takes the schema from version N-1 to N
// in one transaction, so a crash mid-upgrade leaves the previous version intact. Adding a table is one
// more entry at the end of the list in migrations.cpp; entries are never edited once released.
#include <span>
#include <string>

#include "cardperso/ads/store/sqlite_db.hpp"
#include "cardperso/common/result.hpp"

namespace cardperso::ads {

struct Migration {
  const char* description;
  const char* sql;
};

// In order; the schema version after migration i is i + 1.
std::span<const Migration> migrations();
int latest_schema_version();

// Reads the schema version; applies every pending migration; refuses a database from a newer program.
// Returns the schema version now in the file.
Result<int> migrate(Database& db);
Result<int> schema_version(Database& db);

// Database::open, then migrate.
Result<Database> open_ads_database(const std::string& path, OpenMode mode);

}  // namespace cardperso::ads
