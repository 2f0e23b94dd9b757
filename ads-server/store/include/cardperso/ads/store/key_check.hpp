#pragma once
// Binds a database to its master key: `init` seals a known value under the key; every later open
// checks it, so a wrong --master-key is reported as such before any retailer record fails to open.
#include "cardperso/ads/store/master_key.hpp"
#include "cardperso/ads/store/sqlite_db.hpp"
#include "cardperso/common/result.hpp"

namespace cardperso::ads {

// Inside the caller's transaction; refuses when the database is already bound.
Result<void> bind_master_key(Database& db, const MasterKey& key);
Result<void> check_master_key(Database& db, const MasterKey& key);

}  // namespace cardperso::ads
