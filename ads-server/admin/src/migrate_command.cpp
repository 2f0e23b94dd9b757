// adsctl migrate: moves an issuer's ADS from its SQLite file to PostgreSQL (docs/operations.md,
// "Moving an issuer from SQLite to PostgreSQL"). Everything that can refuse is checked before the
// target is touched; the copy itself is one target transaction (database_copy.hpp), and the result is
// verified as a daemon would read it (audit chain, master key) before it is declared done.
// The --to URL may hold a password: only Database::path() (which hides it) is ever printed.
#include <filesystem>
#include <iostream>

#include "cardperso/ads/store/audit_log.hpp"
#include "cardperso/ads/store/database_copy.hpp"
#include "cardperso/ads/store/key_check.hpp"
#include "cardperso/ads/store/migrations.hpp"
#include "command_line.hpp"
#include "text_table.hpp"

namespace cardperso::adsctl {

namespace {

constexpr std::size_t kMaxAuditField = 4096;  // AuditLog::append's limit

struct Migrated {
  std::vector<ads::TableRows> tables;
  std::int64_t audit_entries = 0;
};

// The source as it will be copied: this adsctl's schema, this master key, an intact chain.
Result<std::int64_t> check_source(ads::Database& source, const ads::MasterKey& key) {
  auto version = ads::schema_version(source);
  if (!version) return version.error();
  const int latest = ads::latest_schema_version();
  if (*version == 0) {
    return fail("the source " + source.path() + " holds no ADS (schema version 0); pass the file `adsctl init` "
                "created as --from");
  }
  if (*version < latest) {
    return fail("the source " + source.path() + " has schema version " + std::to_string(*version) + ", this adsctl " +
                std::to_string(latest) + "; open it once with this version's adsctl (e.g. `adsctl status --db " +
                source.path() + "`) so that it is upgraded, then run migrate again");
  }
  if (*version > latest) {
    return fail("the source " + source.path() + " has schema version " + std::to_string(*version) +
                ", newer than this adsctl (" + std::to_string(latest) + "); run migrate with the adsctl of the "
                "ads-server that wrote it");
  }
  if (auto checked = ads::check_master_key(source, key); !checked) return checked.error();
  auto chain = ads::AuditLog(source, key).verify();
  if (!chain) return chain.error();
  if (!chain->intact()) {
    return fail("the audit chain of the source " + source.path() + " is broken at entry " +
                std::to_string(*chain->first_broken_seq) + ": " + chain->problem + "; migrate copies only an intact "
                "chain. Keep this database for investigation (`adsctl audit verify`), restore the last good backup "
                "and migrate that");
  }
  return chain->entries_checked;
}

// The copy committed; now read it back as ads-server would before anyone points a daemon at it.
Result<void> verify_target(ads::Database& source, ads::Database& target, const ads::MasterKey& key,
                           const std::vector<ads::TableRows>& copied, std::int64_t audit_entries) {
  std::vector<std::string> tables;
  for (const auto& t : copied) tables.push_back(t.table);
  auto on_source = ads::count_rows(source, tables);
  if (!on_source) return on_source.error();
  auto on_target = ads::count_rows(target, tables);
  if (!on_target) return on_target.error();
  for (std::size_t i = 0; i < tables.size(); ++i) {
    if ((*on_source)[i].rows != (*on_target)[i].rows) {
      return fail("table " + tables[i] + " has " + std::to_string((*on_source)[i].rows) + " rows in the source but " +
                  std::to_string((*on_target)[i].rows) + " in the target");
    }
  }
  if (auto checked = ads::check_master_key(target, key); !checked) return checked.error();
  auto chain = ads::AuditLog(target, key).verify();
  if (!chain) return chain.error();
  if (!chain->intact()) {
    return fail("the audit chain of the target is broken at entry " + std::to_string(*chain->first_broken_seq) + ": " +
                chain->problem);
  }
  if (chain->entries_checked != audit_entries) {
    return fail("the target's audit chain has " + std::to_string(chain->entries_checked) + " entries, the source's " +
                std::to_string(audit_entries));
  }
  return {};
}

std::string counts_detail(const std::vector<ads::TableRows>& tables) {
  std::string detail = "schema=" + std::to_string(ads::latest_schema_version());
  for (const auto& t : tables) detail += " " + t.table + "=" + std::to_string(t.rows);
  return detail;
}

int run_migrate(const std::vector<std::string>& args, const std::string& command_name) {
  Invocation command(
      command_name, "--from sqlite:PATH --to postgresql://URL",
      "Copies the ADS database --from (a SQLite file: PATH or sqlite:PATH) into a new, empty PostgreSQL\n"
      "database --to (create it first with createdb), every table with identical values, in one transaction:\n"
      "a failure leaves nothing copied. Sealed keys are copied as they are, still sealed under the master key\n"
      "(--master-key), which stays the key of the new database. --db is not used.\n"
      "Before copying it checks the master key against the source, that the source's audit chain is intact\n"
      "and that its schema is version " + std::to_string(ads::latest_schema_version()) +
          " (open an older one once with this adsctl first). Afterwards it\n"
          "compares the row counts and verifies the audit chain and the master key on the new database.\n"
          "Stop every ads-server using the source first, and start them with --db URL afterwards.\n"
          "Prints the rows copied per table. Audited as database_migrated in the new database.");
  std::string from;
  std::string to;
  command.options().add_options()
      ("from", po::value(&from)->required(), "the SQLite ADS database to copy: PATH or sqlite:PATH")
      ("to", po::value(&to)->required(), "the empty PostgreSQL database to copy into: postgresql://USER@HOST/NAME");
  if (auto stop = command.parse(args)) return *stop;
  if (ads::Database::is_postgres_url(from)) {
    return command.usage_error("--from must name a SQLite ADS database (PATH or sqlite:PATH), not a PostgreSQL URL");
  }
  // The URL itself is not repeated: it may hold a password.
  if (!ads::Database::is_postgres_url(to)) {
    return command.usage_error("--to must be a postgresql:// (or postgres://) URL of an empty database");
  }

  auto key = ads::MasterKey::load_file(command.common().key_path);
  if (!key) return refused(key.error().message);
  const std::string source_file = from.rfind("sqlite:", 0) == 0 ? from.substr(7) : from;
  if (std::error_code ec; !std::filesystem::exists(source_file, ec)) {
    return refused("the source database " + source_file + " does not exist; pass the ADS's SQLite file as --from");
  }
  auto source = ads::Database::open(from, ads::OpenMode::MustExist);
  if (!source) return refused("source: " + source.error().message);
  // Checked before the target is even opened, so that a refusal here leaves the target untouched.
  auto checked = check_source(*source, *key);
  if (!checked) return refused(checked.error().message + "; nothing was copied");

  auto target = ads::Database::open(to, ads::OpenMode::CreateNew);
  if (!target) {
    // The store's advice names --db, the option of every other command; here the URL came as --to.
    std::string message = target.error().message;
    if (const auto at = message.find("the --db URL"); at != std::string::npos) message.replace(at, 12, "the --to URL");
    return refused("target: " + message + "; migrate copies into a new, empty PostgreSQL database only "
                   "(createdb NAME); nothing was copied");
  }
  // The same schema version as the source (checked above to be this adsctl's latest).
  if (auto schema = ads::migrate(*target); !schema) {
    return refused("target: " + schema.error().message + "; nothing was copied, but " + target->path() +
                   " may hold a partial schema now: drop it (dropdb) and create it again before the next try");
  }

  // The source's write lock is held from the copy to the end of the verification: what is copied and
  // what the counts are compared with is one snapshot, whatever else still has the file open.
  auto migrated = source->with_transaction([&]() -> Result<Migrated> {
    auto entries = ads::AuditLog(*source, *key).verify();
    if (!entries) return entries.error();
    if (!entries->intact()) return fail("the source's audit chain broke while migrate ran; nothing was copied");
    auto copied = ads::copy_ads_tables(*source, *target);
    if (!copied) {
      return fail(copied.error().message + "; nothing was copied, but " + target->path() +
                  " now holds the empty schema: drop it and create it again (dropdb, createdb) before the next try");
    }
    if (auto verified = verify_target(*source, *target, *key, *copied, entries->entries_checked); !verified) {
      return fail("the copy in " + target->path() + " is committed but does not verify: " + verified.error().message +
                  "; do not use it: drop it (dropdb), keep running on the source and report this");
    }
    return Migrated{std::move(copied).value(), entries->entries_checked};
  });
  if (!migrated) return refused(migrated.error().message);

  auto logged = target->with_transaction([&]() -> Result<void> {
    ads::AuditLog audit(*target, *key);
    return audit.append(actor_name(), "database_migrated", target->path().substr(0, kMaxAuditField),
                        counts_detail(migrated->tables).substr(0, kMaxAuditField));
  });

  TextTable table(std::cout, {{"table", 22}, {"rows copied", 0}});
  for (const auto& t : migrated->tables) table.row(t.table, t.rows);
  std::cout << "audit chain: intact (" << migrated->audit_entries << " entries)\n"
            << "migrated to " << target->path() << " (schema version " << ads::latest_schema_version() << ")\n";
  if (!logged) {
    return refused("the copy is complete and verified but its database_migrated audit entry is not written: " +
                   logged.error().message);
  }
  return kExitOk;
}

}  // namespace

std::vector<cli::Subcommand> migrate_commands() {
  return {{"migrate", "--from sqlite:PATH --to postgresql://URL",
           "copy a SQLite ADS into a new PostgreSQL database, checked", run_migrate}};
}

}  // namespace cardperso::adsctl
