// adsctl status: the health of an ADS database for an operator or a monitor, one "name value" line per
// check (docs/operations.md, "Health"). Exit 0 healthy, 2 when a check fails or warns.
#include <iostream>

#include "cardperso/ads/store/hlr_outbox.hpp"
#include "cardperso/ads/store/key_check.hpp"
#include "cardperso/ads/store/migrations.hpp"
#include "command_line.hpp"

namespace cardperso::adsctl {

namespace {

struct Limits {
  long long min_blank = 100;
  long long min_numbers = 1000;
  long long max_hlr_waiting = 100;
};

// The checks that warned or failed, named in the last line.
class Findings {
 public:
  void warn(const std::string& check, const std::string& message) {
    std::cout << "warning      " << message << "\n";
    if (named_.find(check) == std::string::npos) named_ += (named_.empty() ? "" : ", ") + check;
  }
  int finish() const {
    std::cout << "result       " << (named_.empty() ? "healthy" : "WARNING (" + named_ + ")") << "\n";
    return named_.empty() ? kExitOk : kExitRefused;
  }

 private:
  std::string named_;
};

// Checks that need the current schema; a failed read is reported as that check's failure.
void check_store(Store& store, const Limits& limits, Findings& findings) {
  auto verified = store.audit.verify();
  if (!verified) {
    findings.warn("audit", "audit chain not read: " + verified.error().message);
  } else if (verified->intact()) {
    std::cout << "audit        intact (" << verified->entries_checked << " entries)\n";
  } else {
    std::cout << "audit        BROKEN at entry " << *verified->first_broken_seq << "\n";
    findings.warn("audit", "audit entry " + std::to_string(*verified->first_broken_seq) + ": " + verified->problem +
                               "; the database was changed outside the ADS: investigate, restore from backup");
  }
  if (auto last = store.audit.last(1); !last) {
    findings.warn("audit", "last audit entry not read: " + last.error().message);
  } else {
    std::cout << "last audit   "
              << (last->empty() ? std::string("none")
                                : format_time(last->back().at) + " " + last->back().event + " by " + last->back().actor)
              << "\n";
  }

  if (auto batches = store.card_stock().list_batches(); !batches) {
    findings.warn("stock", "card stock not read: " + batches.error().message);
  } else {
    if (batches->empty()) findings.warn("stock", "no card batch imported");
    for (const auto& b : *batches) {
      std::cout << "stock        batch " << b.name << " (retailer " << b.retailer_serial.value_or("none") << "): "
                << b.blank << " blank of " << b.card_count << "\n";
      if (b.blank < limits.min_blank) {
        findings.warn("stock", "batch " + b.name + ": " + std::to_string(b.blank) + " blank cards, below --min-blank " +
                                   std::to_string(limits.min_blank));
      }
    }
  }

  if (auto pools = store.number_pools().list(); !pools) {
    findings.warn("numbers", "number pools not read: " + pools.error().message);
  } else {
    if (pools->empty()) findings.warn("numbers", "no number pool added");
    for (const auto& p : *pools) {
      const std::string name =
          std::string(ads::to_string(p.kind)) + " pool " + p.value_of(p.first) + ".." + p.value_of(p.last);
      std::cout << "numbers      " << name << ": " << p.never_used() << " never used, " << p.released
                << " released\n";
      if (p.never_used() < limits.min_numbers) {
        findings.warn("numbers", name + ": " + std::to_string(p.never_used()) + " never used, below --min-numbers " +
                                     std::to_string(limits.min_numbers));
      }
    }
  }

  ads::HlrOutbox outbox(store.db, store.audit, actor_name());
  if (auto b = outbox.backlog(); !b) {
    findings.warn("hlr", "HLR backlog not read: " + b.error().message);
  } else {
    std::cout << "hlr waiting  " << b->pending << " jobs";
    if (b->oldest_pending_since) {
      const auto age = std::max<std::int64_t>(0, (ads::system_now() - *b->oldest_pending_since).count());
      std::cout << " (oldest queued " << format_time(*b->oldest_pending_since) << ", " << age << " s ago)";
    }
    std::cout << "\n";
    if (b->pending > limits.max_hlr_waiting) {
      findings.warn("hlr", std::to_string(b->pending) + " HLR jobs waiting, above --max-hlr-waiting " +
                               std::to_string(limits.max_hlr_waiting) + ": see `adsctl hlr status`");
    }
  }
}

int run_status(const std::vector<std::string>& args, const std::string& command_name) {
  Invocation command(command_name, "[--min-blank N] [--min-numbers N] [--max-hlr-waiting N]",
                     "The health of the ADS database, one line per check: schema version, audit chain, blank cards\n"
                     "per batch, never-used numbers per pool, HLR backlog, last audit entry. Exit 0 when healthy,\n"
                     "2 when a check fails or warns (the 'warning' lines and the 'result' line say which). Changes\n"
                     "nothing: a pending schema migration is reported, not applied.");
  Limits limits;
  command.options().add_options()
      ("min-blank", po::value(&limits.min_blank)->default_value(limits.min_blank),
       "warn below this many blank cards in a batch")
      ("min-numbers", po::value(&limits.min_numbers)->default_value(limits.min_numbers),
       "warn below this many never-used numbers in a pool")
      ("max-hlr-waiting", po::value(&limits.max_hlr_waiting)->default_value(limits.max_hlr_waiting),
       "warn above this many HLR jobs waiting");
  if (auto stop = command.parse(args)) return *stop;
  if (limits.min_blank < 0 || limits.min_numbers < 0 || limits.max_hlr_waiting < 0) {
    return command.usage_error("--min-blank, --min-numbers and --max-hlr-waiting must not be negative");
  }
  auto key = ads::MasterKey::load_file(command.common().key_path);
  if (!key) return refused(key.error().message);
  // Opened without migrating: a pending migration is one of the things to report.
  auto db = ads::Database::open(command.common().db_path, ads::OpenMode::MustExist);
  if (!db) return refused(db.error().message);
  auto version = ads::schema_version(*db);
  if (!version) return refused(version.error().message);
  Findings findings;
  const int latest = ads::latest_schema_version();
  if (*version != latest) {
    std::cout << "schema       " << *version << " (this adsctl: " << latest << ")\n";
    findings.warn("schema", *version < latest
                                ? "migrations pending: ads-server or any other adsctl command applies them"
                                : "the database is newer than this adsctl: use the release that wrote it");
    return findings.finish();
  }
  std::cout << "schema       " << *version << " (latest, no migration pending)\n";
  if (auto matched = ads::check_master_key(*db, *key); !matched) return refused(matched.error().message);
  Store store(std::move(db).value(), std::move(key).value());
  check_store(store, limits, findings);
  return findings.finish();
}

}  // namespace

std::vector<cli::Subcommand> status_commands() {
  return {{"status", "[--min-blank N] ...", "the health of the database: exit 0 healthy, 2 with warnings", run_status}};
}

}  // namespace cardperso::adsctl
