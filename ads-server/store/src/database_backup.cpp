#include "cardperso/ads/store/database_backup.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <memory>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "cardperso/ads/store/audit_log.hpp"
#include "cardperso/ads/store/key_check.hpp"
#include "cardperso/ads/store/migrations.hpp"
#include "cardperso/ads/store/private_file.hpp"

namespace cardperso::ads {

namespace {

using namespace std::chrono_literals;

// Small steps let a destination lock taken by someone else be waited for; the pages all come from one
// read snapshot of the source anyway (see backup_database).
constexpr int kPagesPerStep = 256;
constexpr auto kBusyPause = 20ms;
constexpr auto kBusyGiveUp = 30s;

struct CloseConnection {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using Connection = std::unique_ptr<sqlite3, CloseConnection>;

Result<Connection> open_raw(const std::string& path, int flags, std::string_view what) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags | SQLITE_OPEN_NOFOLLOW, nullptr);
  Connection db(raw);
  if (rc != SQLITE_OK) return sqlite_error(raw, rc, what);
  sqlite3_extended_result_codes(raw, 1);
  return db;
}

// The first column of every row, as text (pragmas, counts, integrity_check's report).
Result<std::vector<std::string>> column_text(sqlite3* db, const std::string& sql, std::string_view what) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr);
  if (rc != SQLITE_OK) return sqlite_error(db, rc, what);
  std::vector<std::string> rows;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    const auto* text = sqlite3_column_text(stmt, 0);
    rows.emplace_back(text != nullptr ? reinterpret_cast<const char*>(text) : "");
  }
  sqlite3_finalize(stmt);
  if (rc != SQLITE_DONE) return sqlite_error(db, rc, what);
  return rows;
}

Result<std::string> single_text(sqlite3* db, const std::string& sql, std::string_view what) {
  auto rows = column_text(db, sql, what);
  if (!rows) return rows.error();
  if (rows->empty()) return fail("database error during " + std::string(what) + ": no result");
  return rows->front();
}

Result<std::int64_t> single_int(sqlite3* db, const std::string& sql, std::string_view what) {
  auto text = single_text(db, sql, what);
  if (!text) return text.error();
  return static_cast<std::int64_t>(std::strtoll(text->c_str(), nullptr, 10));
}

Result<void> check_integrity(sqlite3* db, const std::string& name) {
  auto report = column_text(db, "PRAGMA integrity_check", "integrity check of " + name);
  if (!report) return fail(name + " is damaged: " + report.error().message);
  if (report->size() == 1 && report->front() == "ok") return {};
  return fail(name + " is damaged: integrity_check found " + std::to_string(report->size()) +
              " problems, the first: " + (report->empty() ? std::string("none reported") : report->front()));
}

// 0 for a table an older schema does not have yet.
Result<std::int64_t> count_rows(sqlite3* db, const std::string& table) {
  auto present = single_int(db, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = '" + table + "'",
                            "look for table " + table);
  if (!present) return present.error();
  if (*present == 0) return std::int64_t{0};
  return single_int(db, "SELECT count(*) FROM " + table, "count " + table);
}

// Every page of `from`'s main database into `to`'s. Returns the page count.
Result<std::int64_t> copy_pages(sqlite3* from, sqlite3* to, std::string_view what) {
  sqlite3_backup* backup = sqlite3_backup_init(to, "main", from, "main");
  if (backup == nullptr) return sqlite_error(to, sqlite3_errcode(to), what);
  const auto give_up = std::chrono::steady_clock::now() + kBusyGiveUp;
  int rc = SQLITE_OK;
  for (;;) {
    rc = sqlite3_backup_step(backup, kPagesPerStep);
    if (rc == SQLITE_OK) continue;
    const int primary = rc & 0xFF;
    if ((primary == SQLITE_BUSY || primary == SQLITE_LOCKED) && std::chrono::steady_clock::now() < give_up) {
      std::this_thread::sleep_for(kBusyPause);
      continue;
    }
    break;
  }
  const std::int64_t pages = sqlite3_backup_pagecount(backup);
  const int finished = sqlite3_backup_finish(backup);
  if (rc != SQLITE_DONE) return sqlite_error(to, rc, what);
  if (finished != SQLITE_OK) return sqlite_error(to, finished, what);
  return pages;
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

std::string directory_of(const std::string& path) {
  auto parent = std::filesystem::path(path).parent_path();
  return parent.empty() ? std::string(".") : parent.string();
}

// Owner-only from the start: the file will hold sealed keys and personal data.
Result<void> create_private(const std::string& path, std::string_view leftover_advice) {
  return create_private_file(path, path + " already exists: " + std::string(leftover_advice));
}

Result<void> sync_path(const std::string& path, bool directory) {
  const int fd = ::open(path.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) return fail("cannot open " + path + " to flush it: " + std::strerror(errno));
  const int rc = ::fsync(fd);
  const int saved = errno;
  ::close(fd);
  if (rc != 0) return fail("cannot flush " + path + " to disk: " + std::strerror(saved) + "; check the storage");
  return {};
}

// Never replaces `to`: someone else's file appearing there meanwhile stays as it is.
Result<void> rename_no_replace(const std::string& from, const std::string& to) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return {};
  if (errno == EINVAL && !exists(to) && ::rename(from.c_str(), to.c_str()) == 0) return {};  // no NOREPLACE here
  if (errno == EEXIST) return fail(Errc::AlreadyExists, "cannot rename " + from + " to " + to + ": " + to + " exists");
  return fail("cannot rename " + from + " to " + to + ": " + std::strerror(errno));
}

// A file of ours and the files SQLite may have put beside it, removed unless kept.
class ScratchFile {
 public:
  explicit ScratchFile(std::string path) : path_(std::move(path)) {}
  ScratchFile(const ScratchFile&) = delete;
  ScratchFile& operator=(const ScratchFile&) = delete;
  ~ScratchFile() {
    if (keep_) return;
    for (const char* suffix : {"", "-journal", "-wal", "-shm"}) ::unlink((path_ + suffix).c_str());
  }
  void keep() { keep_ = true; }

 private:
  std::string path_;
  bool keep_ = false;
};

std::string utc_stamp() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

// A connection holding the database's exclusive lock until it closes. In exclusive locking mode a WAL
// database is opened only when no other connection has it open: each keeps a shared lock on the file
// for as long as it is open, in this process or another. No busy timeout: a lock held means in use.
Result<Connection> hold_exclusive(const std::string& path) {
  auto db = open_raw(path, SQLITE_OPEN_READWRITE, "open database " + path);
  if (!db) return db.error();
  const int rc = sqlite3_exec(db->get(), "PRAGMA locking_mode=EXCLUSIVE; BEGIN EXCLUSIVE; COMMIT;", nullptr, nullptr,
                              nullptr);
  if (rc == SQLITE_OK) return db;
  if (sqlite3_get_autocommit(db->get()) == 0) sqlite3_exec(db->get(), "ROLLBACK", nullptr, nullptr, nullptr);
  const int primary = rc & 0xFF;
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) {
    return fail("database " + path + " is in use (a running ads-server, or another adsctl): stop ads-server first");
  }
  return sqlite_error(db->get(), rc, "lock database " + path);
}

// Copies the backup to `staging` and checks the copy (opening the backup itself read-write would change
// it); appends database_restored there. Closing the copy folds its WAL into the file.
Result<RestoreReport> stage(const std::string& backup, const std::string& staging, const MasterKey& key,
                            std::string_view actor) {
  {
    auto from = open_raw(backup, SQLITE_OPEN_READONLY, "open backup " + backup);
    if (!from) return from.error();
    auto to = open_raw(staging, SQLITE_OPEN_READWRITE, "open " + staging);
    if (!to) return to.error();
    if (auto copied = copy_pages(from->get(), to->get(), "read backup " + backup); !copied) {
      return fail("backup " + backup + " cannot be read: " + copied.error().message);
    }
  }
  auto db = Database::open(staging, OpenMode::MustExist);
  if (!db) return fail("backup " + backup + " is not a usable database: " + db.error().message);
  if (auto ok = check_integrity(db->handle(), "backup " + backup); !ok) return ok.error();
  auto version = schema_version(*db);
  if (!version) return version.error();
  if (*version < 1) return fail("backup " + backup + " holds no ADS schema: it is not a backup of an ADS database");
  if (*version > latest_schema_version()) {
    return fail("backup " + backup + " has schema version " + std::to_string(*version) + ", newer than this adsctl (" +
                std::to_string(latest_schema_version()) + "): restore it with the release that wrote it");
  }
  if (auto matched = check_master_key(*db, key); !matched) {
    return fail("backup " + backup + " does not open with this master key (" + matched.error().message +
                "); pass the key file of the database that was backed up (--master-key)");
  }
  AuditLog audit(*db, key);
  auto verified = audit.verify();
  if (!verified) return verified.error();
  if (!verified->intact()) {
    return fail("the audit chain of backup " + backup + " is broken at entry " +
                std::to_string(*verified->first_broken_seq) + " (" + verified->problem +
                "): it was changed after it was written; do not restore it, take another backup");
  }
  RestoreReport report;
  report.schema_version = *version;
  report.audit_entries = verified->entries_checked;
  auto cards = count_rows(db->handle(), "cards");
  if (!cards) return cards.error();
  report.cards = *cards;
  auto logged = db->with_transaction([&]() -> Result<void> {
    return audit.append(actor, "database_restored", backup,
                        "audit_entries=" + std::to_string(report.audit_entries) +
                            " schema=" + std::to_string(report.schema_version));
  });
  if (!logged) return logged.error();
  return report;
}

}  // namespace

Result<BackupReport> backup_database(Database& source, const std::string& dest) {
  if (source.backend() != Backend::Sqlite) {
    return fail("adsctl backup copies a SQLite database; " + source.path() +
                " is PostgreSQL: back it up with PostgreSQL's tools (pg_dump, or pg_basebackup with WAL archiving), "
                "and the master key apart");
  }
  if (source.in_transaction()) return fail("backup of " + source.path() + " asked for inside a transaction");
  if (exists(dest)) {
    return fail(Errc::AlreadyExists, "backup " + dest + " already exists; refusing to overwrite it: choose a new name");
  }
  const std::string tmp = dest + ".tmp";
  if (auto created = create_private(tmp, "left by an interrupted backup? remove it and try again"); !created) {
    return created.error();
  }
  ScratchFile scratch(tmp);
  BackupReport report;
  report.path = dest;
  {
    auto to = open_raw(tmp, SQLITE_OPEN_READWRITE, "open backup " + tmp);
    if (!to) return to.error();
    // One read transaction around every step: the copy is one snapshot, never restarted by the
    // server's commits, which go on meanwhile (WAL readers do not block writers).
    if (auto begun = source.exec("BEGIN", "back up: begin a read snapshot"); !begun) return begun.error();
    std::optional<Error> failed;
    if (auto snapshot = single_text(source.handle(), "SELECT count(*) FROM sqlite_schema", "back up: read the schema");
        !snapshot) {
      failed = snapshot.error();
    } else if (auto copied = copy_pages(source.handle(), to->get(), "back up " + source.path() + " to " + tmp);
               !copied) {
      failed = copied.error();
    } else {
      report.pages = *copied;
    }
    (void)source.exec("COMMIT", "back up: end the read snapshot");
    if (failed) return *failed;
    // A rollback journal: the backup is one file, with no -wal or -shm to keep beside it, and it can be
    // read on read-only media.
    auto mode = single_text(to->get(), "PRAGMA journal_mode=DELETE", "back up: leave WAL mode");
    if (!mode) return mode.error();
    if (*mode != "delete") return fail("back up: the copy " + tmp + " stayed in journal mode " + *mode);
    if (auto ok = check_integrity(to->get(), "the copy of " + source.path()); !ok) {
      return fail(ok.error().message + "; no backup written: the database itself is likely damaged, check it with "
                                       "`sqlite3 DB 'PRAGMA integrity_check'` and restore the last good backup");
    }
    auto version = single_int(to->get(), "PRAGMA user_version", "back up: read schema version");
    if (!version) return version.error();
    report.schema_version = static_cast<int>(*version);
    auto cards = count_rows(to->get(), "cards");
    if (!cards) return cards.error();
    report.cards = *cards;
    auto entries = count_rows(to->get(), "audit_log");
    if (!entries) return entries.error();
    report.audit_entries = *entries;
  }
  if (auto synced = sync_path(tmp, false); !synced) return synced.error();
  struct stat st {};
  if (::stat(tmp.c_str(), &st) != 0) return fail("cannot stat " + tmp + ": " + std::strerror(errno));
  report.bytes = static_cast<std::int64_t>(st.st_size);
  if (auto renamed = rename_no_replace(tmp, dest); !renamed) return renamed.error();
  scratch.keep();
  if (auto synced = sync_path(directory_of(dest), true); !synced) return synced.error();
  return report;
}

Result<void> check_not_in_use(const std::string& path) {
  auto held = hold_exclusive(path);
  if (!held) return held.error();
  return {};
}

Result<RestoreReport> restore_database(const std::string& backup, const std::string& target, const MasterKey& key,
                                       std::string_view actor) {
  if (Database::is_postgres_url(target)) {
    return fail("adsctl restore puts back a SQLite database; restore a PostgreSQL database with PostgreSQL's tools "
                "(pg_restore, or a base backup and its WAL), then check it with `adsctl status` and `adsctl audit verify`");
  }
  if (!exists(backup)) return fail(Errc::NotFound, "backup " + backup + " not found");
  // Taken first and held to the end: no ads-server can open the target while it is being replaced.
  std::optional<Connection> lock;
  if (exists(target)) {
    auto held = hold_exclusive(target);
    if (!held) return held.error();
    lock.emplace(std::move(held).value());
  }
  const std::string staging = target + ".tmp";
  if (auto created = create_private(staging, "left by an interrupted restore? remove it and try again"); !created) {
    return created.error();
  }
  ScratchFile scratch(staging);
  auto report = stage(backup, staging, key, actor);
  if (!report) return report.error();
  if (auto synced = sync_path(staging, false); !synced) return synced.error();
  if (lock) {
    // Folds the target's WAL into its file and removes the -wal, so the file kept is complete alone.
    auto mode = single_text(lock->get(), "PRAGMA journal_mode=DELETE", "fold the WAL of " + target + " into it");
    if (!mode) return mode.error();
    if (*mode != "delete") {
      return fail("the WAL of " + target + " could not be folded into it (journal mode " + *mode + ")");
    }
    report->kept_as = target + ".before-restore-" + utc_stamp();
    if (auto renamed = rename_no_replace(target, report->kept_as); !renamed) return renamed.error();
    // Its wal-index belonged to the old file; a stale one must not meet the new file.
    ::unlink((target + "-shm").c_str());
  }
  if (auto renamed = rename_no_replace(staging, target); !renamed) {
    if (lock) {
      scratch.keep();
      return fail(renamed.error().message + "; the previous database is kept as " + report->kept_as +
                  " and the checked copy as " + staging);
    }
    return renamed.error();
  }
  scratch.keep();
  if (auto synced = sync_path(directory_of(target), true); !synced) return synced.error();
  return report;
}

}  // namespace cardperso::ads
