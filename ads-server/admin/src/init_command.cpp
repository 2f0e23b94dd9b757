#include <sys/stat.h>
#include <unistd.h>

#include <iostream>

#include "cardperso/ads/store/audit_log.hpp"
#include "cardperso/ads/store/key_check.hpp"
#include "cardperso/ads/store/migrations.hpp"
#include "command_line.hpp"

namespace cardperso::adsctl {

namespace {
bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}
int run_init(const std::vector<std::string>& args, const std::string& command_name) {
  Invocation command(command_name, "[--db PATH|URL] [--master-key PATH]",
                        "Creates a new ADS database (schema version " + std::to_string(ads::latest_schema_version()) +
                            ") and a new random master key (mode 0600). Refuses to overwrite either.\n"
                            "--db postgresql://... sets up the ADS in an existing, empty PostgreSQL database.\n"
                            "Back up the master key apart from the database: without it no stored key can be read.");
  if (auto stop = command.parse(args)) return *stop;

  // Check both first, so a refusal leaves nothing half-created.
  if (exists(command.common().db_path)) return refused("database " + command.common().db_path + " already exists; refusing to overwrite it");
  if (exists(command.common().key_path)) {
    return refused("master key file " + command.common().key_path + " already exists; refusing to overwrite it");
  }
  auto key = ads::MasterKey::create_file(command.common().key_path);
  if (!key) return refused(key.error().message);
  auto undo = [&](const std::string& message) {
    // Only files this run created are removed.
    ::unlink(command.common().key_path.c_str());
    ::unlink(command.common().db_path.c_str());
    ::unlink((command.common().db_path + "-wal").c_str());
    ::unlink((command.common().db_path + "-shm").c_str());
    return refused(message + "; nothing was created");
  };
  auto db = ads::open_ads_database(command.common().db_path, ads::OpenMode::CreateNew);
  if (!db) {
    // CreateNew failed before creating the file only if it appeared meanwhile: keep someone else's file.
    if (db.error().code == Errc::AlreadyExists) {
      ::unlink(command.common().key_path.c_str());
      return refused(db.error().message);
    }
    return undo(db.error().message);
  }
  ads::AuditLog audit(*db, *key);
  auto bound = db->with_transaction([&]() -> Result<void> {
    if (auto r = ads::bind_master_key(*db, *key); !r) return r;
    auto logged = audit.append(actor_name(), "ads_initialised", db->path(),
                               "schema_version=" + std::to_string(ads::latest_schema_version()));
    if (!logged) return logged.error();
    return {};
  });
  if (!bound) return undo(bound.error().message);
  std::cerr << "adsctl: created database " << db->path() << " (schema version " << ads::latest_schema_version()
            << ") and master key " << command.common().key_path << " (mode 0600).\n"
            << "Back up the master key on separate media; keep it away from the database backups.\n";
  return kExitOk;
}

}  // namespace

std::vector<cli::Subcommand> init_commands() {
  return {{"init", "", "create the database and the master key", run_init}};
}

}  // namespace cardperso::adsctl

