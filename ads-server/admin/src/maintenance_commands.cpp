// adsctl backup | restore: a consistent copy of the (possibly running) ADS database, and putting one back
// (docs/operations.md, "Backing up and restoring"). The master key is never in a backup.
#include <filesystem>
#include <iostream>

#include "cardperso/ads/store/database_backup.hpp"
#include "cardperso/ads/store/migrations.hpp"
#include "command_line.hpp"

namespace cardperso::adsctl {

namespace {

std::string absolute(const std::string& path) {
  std::error_code ec;
  auto full = std::filesystem::absolute(path, ec);
  return ec ? path : full.lexically_normal().string();
}

int run_backup(const std::vector<std::string>& args, const std::string& command_name) {
  Invocation command(command_name, "DEST",
                     "Writes a consistent copy of the ADS database to DEST while ads-server keeps running (one\n"
                     "snapshot, SQLite's online backup), checks it (integrity_check) and only then names it DEST.\n"
                     "Refuses an existing DEST. The master key is not copied: it is backed up apart.\n"
                     "Audited as database_backed_up.");
  std::string dest;
  command.options().add_options()
      ("dest", po::value(&dest)->required(), "the backup file to write (also as the first argument)");
  command.positional().add("dest", 1);
  if (auto stop = command.parse(args)) return *stop;
  dest = absolute(dest);
  return command.with_store([&](Store& store) -> int {
    auto report = ads::backup_database(store.db, dest);
    if (!report) return refused(report.error().message);
    auto logged = store.db.with_transaction([&]() -> Result<void> {
      return store.audit.append(actor_name(), "database_backed_up", dest,
                                "schema=" + std::to_string(report->schema_version) +
                                    " pages=" + std::to_string(report->pages));
    });
    std::cout << "backup       " << report->path << " (" << report->bytes << " bytes, " << report->pages << " pages)\n"
              << "schema       " << report->schema_version << "\n"
              << "cards        " << report->cards << "\n"
              << "audit        " << report->audit_entries << " entries\n"
              << "master key   not in the backup: keep " << absolute(command.common().key_path)
              << " backed up apart, on other media\n";
    if (!logged) return refused("the backup is written but its audit entry is not: " + logged.error().message);
    return kExitOk;
  });
}

int run_restore(const std::vector<std::string>& args, const std::string& command_name) {
  Invocation command(command_name, "BACKUP",
                     "Replaces the ADS database (--db) with BACKUP, after checking on a copy that BACKUP is intact\n"
                     "(integrity_check), of a schema this adsctl knows, bound to this master key (--master-key) and\n"
                     "that its audit chain verifies. Refuses while the database is open anywhere (stop ads-server\n"
                     "first). The previous database is kept as DB.before-restore-<UTC time>. --db may name a file\n"
                     "that does not exist yet. Audited as database_restored in the restored database.");
  std::string backup;
  command.options().add_options()
      ("backup", po::value(&backup)->required(), "the backup file (also as the first argument)");
  command.positional().add("backup", 1);
  if (auto stop = command.parse(args)) return *stop;
  backup = absolute(backup);
  const std::string& db = command.common().db_path;
  const std::string target = ads::Database::is_postgres_url(db) ? db : absolute(db);
  auto key = ads::MasterKey::load_file(command.common().key_path);
  if (!key) return refused(key.error().message);
  auto report = ads::restore_database(backup, target, *key, actor_name());
  if (!report) return refused(report.error().message);
  std::cout << "integrity    ok\n"
            << "schema       " << report->schema_version << " (this adsctl: " << ads::latest_schema_version() << ")\n"
            << "master key   matches\n"
            << "audit        intact (" << report->audit_entries << " entries)\n"
            << "cards        " << report->cards << "\n"
            << "restored     " << target << " from " << backup << "\n"
            << "previous     " << (report->kept_as.empty() ? std::string("none (the database did not exist)")
                                                           : "kept as " + report->kept_as)
            << "\n";
  return kExitOk;
}

}  // namespace

std::vector<cli::Subcommand> maintenance_commands() {
  return {{"backup", "DEST", "a consistent copy of the database, also while ads-server runs", run_backup},
          {"restore", "BACKUP", "put a checked backup in place of the database (ads-server stopped)", run_restore}};
}

}  // namespace cardperso::adsctl
