#pragma once
// Backing up a running ADS database and restoring one (docs/operations.md, "Backing up and restoring").
//
// A backup is SQLite's online backup of one read snapshot of the source: the server keeps writing
// (WAL) while it is copied, and the copy is exactly the database as of one commit. It is written to
// DEST.tmp (mode 0600), checked (PRAGMA integrity_check), made one self-contained file (rollback journal
// mode, no -wal/-shm beside it), flushed and only then renamed to DEST. The master key is never in it.
//
// A restore checks the backup on a staged copy (TARGET.tmp) before anything of the target is touched:
// integrity, a schema version this program knows, the master key, an intact audit chain. Then it takes
// the target's exclusive lock, which any open connection (a running ads-server, another adsctl, even
// idle) prevents, so a database in use is never replaced under its users. Holding that lock it folds
// the target's WAL into its file, keeps it as TARGET.before-restore-<UTC time> and renames the staged
// copy into place.
#include <cstdint>
#include <string>
#include <string_view>

#include "cardperso/ads/store/master_key.hpp"
#include "cardperso/ads/store/sqlite_db.hpp"
#include "cardperso/common/result.hpp"

namespace cardperso::ads {

struct BackupReport {
  std::string path;  // DEST
  std::int64_t bytes = 0, pages = 0;
  int schema_version = 0;
  std::int64_t cards = 0, audit_entries = 0;
};

// `source` must not be inside a transaction. Refuses an existing DEST (and a DEST.tmp left by an
// interrupted backup). On any failure nothing is left at DEST or DEST.tmp.
Result<BackupReport> backup_database(Database& source, const std::string& dest);

struct RestoreReport {
  int schema_version = 0;  // of the backup (migrated when the target is next opened)
  std::int64_t cards = 0;
  std::int64_t audit_entries = 0;  // verified in the backup, before the database_restored entry
  std::string kept_as;             // the previous target, renamed; empty when there was none
};

// Restores `backup` to `target`, which may not exist yet (its directory must). Appends
// `database_restored` (by `actor`, subject the backup path) to the restored audit chain. Refuses, with
// the target untouched, when a check fails or the target is open anywhere ("stop ads-server first").
Result<RestoreReport> restore_database(const std::string& backup, const std::string& target, const MasterKey& key,
                                       std::string_view actor);

// Fails when any connection, in this process or another, has the database open. For tests and for
// restore; holds nothing afterwards.
Result<void> check_not_in_use(const std::string& path);

}  // namespace cardperso::ads
