#pragma once
// What every adsctl subcommand shares: --db / --master-key on top of the common command line,
// opening the database with its key and audit log, and how results are printed. The command table
// (main.cpp) lists every command once; the help is generated from it.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cardperso/ads/store/audit_log.hpp"
#include "cardperso/ads/store/card_records.hpp"
#include "cardperso/ads/store/card_stock.hpp"
#include "cardperso/ads/store/clock.hpp"
#include "cardperso/ads/store/master_key.hpp"
#include "cardperso/ads/store/number_pools.hpp"
#include "cardperso/ads/store/retailer_store.hpp"
#include "cardperso/ads/store/sqlite_db.hpp"
#include "cardperso/ads/store/terminal_store.hpp"
#include "cardperso/cli/command_line.hpp"
#include "cardperso/cli/subcommands.hpp"
#include "cardperso/common/result.hpp"

namespace cardperso::adsctl {

namespace po = boost::program_options;
using cli::kExitOk;
using cli::kExitUsage;
inline constexpr int kExitRefused = cli::kExitFailed;

struct CommonOptions {
  std::string db_path = "./ads.db";
  std::string key_path = "./ads-master.key";
};

// An open database with the master key that belongs to it and its audit log. Not movable: the
// audit log refers to the other two.
struct Store {
  Store(ads::Database opened_db, ads::MasterKey loaded_key)
      : db(std::move(opened_db)), key(std::move(loaded_key)), audit(db, key) {}
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;
  ads::Database db;
  ads::MasterKey key;
  ads::AuditLog audit;

  // The services on this store; what they change is audited as done by actor_name().
  ads::CardStock card_stock();
  ads::CardRecords card_records();
  ads::NumberPools number_pools();
  ads::RetailerStore retailers();
  ads::TerminalStore terminals();
};

// One run of one command: its options (the command's own plus --db, --master-key, --help,
// --version) and, once parsed, the store it works on.
class Invocation {
 public:
  Invocation(const std::string& full_name, std::string usage, std::string description);

  po::options_description& options() { return cl_.options(); }
  po::positional_options_description& positional() { return cl_.positional(); }
  // Returns the exit code to stop with (help, version, usage error printed), or nothing to go on.
  std::optional<int> parse(const std::vector<std::string>& args);
  const po::variables_map& vm() const { return vm_; }
  const CommonOptions& common() const { return common_; }

  int usage_error(const std::string& message) const { return cl_.usage_error(message); }
  // Opens the existing database (migrating it), loads the master key and checks that they belong
  // together. On failure prints why and returns nullptr: return kExitRefused.
  Store* open_store();
  // open_store(), then body(store): body's exit code, or kExitRefused when the store does not open.
  template <class Body>
  int with_store(Body&& body) {
    Store* store = open_store();
    return store == nullptr ? kExitRefused : std::forward<Body>(body)(*store);
  }
  // parse(args), then with_store(body): for a command that has nothing to check before the store.
  template <class Body>
  int run(const std::vector<std::string>& args, Body&& body) {
    if (auto stop = parse(args)) return *stop;
    return with_store(std::forward<Body>(body));
  }

 private:
  cli::CommandLine cl_;
  CommonOptions common_;
  po::variables_map vm_;
  std::optional<Store> store_;
};

// "adsctl:<login name>", written to the audit log.
std::string actor_name();
// UTC, "2024-05-01 12:00:00Z".
std::string format_time(ads::Seconds t);

// "adsctl: MESSAGE" on stderr; returns kExitRefused.
int refused(const std::string& message);

// Each module's entries of the command table.
std::vector<cli::Subcommand> init_commands();
std::vector<cli::Subcommand> retailer_commands();
std::vector<cli::Subcommand> terminal_commands();
std::vector<cli::Subcommand> audit_commands();
std::vector<cli::Subcommand> batch_commands();
std::vector<cli::Subcommand> pool_commands();
std::vector<cli::Subcommand> card_commands();
std::vector<cli::Subcommand> hlr_commands();
std::vector<cli::Subcommand> export_commands();
std::vector<cli::Subcommand> maintenance_commands();
std::vector<cli::Subcommand> status_commands();

}  // namespace cardperso::adsctl
