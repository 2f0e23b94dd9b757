#pragma once
// What every adsctl subcommand shares: exit codes, --db / --master-key / --help, parsing with a clear
// usage error, opening the database with its key, and how results are printed.
#include <boost/program_options.hpp>

#include <optional>
#include <string>
#include <vector>

#include "cardperso/ads/store/clock.hpp"
#include "cardperso/ads/store/master_key.hpp"
#include "cardperso/ads/store/sqlite_db.hpp"
#include "cardperso/common/result.hpp"

namespace cardperso::adsctl {

namespace po = boost::program_options;

enum ExitCode : int { kExitOk = 0, kExitUsage = 1, kExitRefused = 2 };

struct CommonOptions {
  std::string db_path = "./ads.db";
  std::string key_path = "./ads-master.key";
  bool help = false;
};

struct Command {
  std::string name;         // "retailer enrol"
  std::string synopsis;     // "--serial S --card-image OUT.json"
  std::string description;  // one paragraph
};

// Adds --db, --master-key and --help to `options`.
void add_common_options(po::options_description& options, CommonOptions& common);

// Parses args. Returns an exit code when the command must stop here (help printed: 0; usage error
// printed: 1), or nothing to go on.
std::optional<int> parse(const Command& command, const std::vector<std::string>& args, po::options_description& options,
                         const po::positional_options_description& positional, const CommonOptions& common,
                         po::variables_map& vm);

void print_help(const Command& command, const po::options_description& options);

struct OpenedStore {
  ads::Database db;
  ads::MasterKey key;
};
// Opens an existing database (migrating it), loads the master key and checks that they belong together.
Result<OpenedStore> open_store(const CommonOptions& common);

// "adsctl:<login name>", written to the audit log.
std::string actor_name();
// UTC, "2024-05-01 12:00:00Z".
std::string format_time(ads::Seconds t);

int refused(const std::string& message);
int usage_error(const std::string& message, const std::string& command_name);

int run_init(const std::vector<std::string>& args);
int run_retailer(const std::vector<std::string>& args);
int run_audit(const std::vector<std::string>& args);
int run_batch(const std::vector<std::string>& args);
int run_pool(const std::vector<std::string>& args);
int run_card(const std::vector<std::string>& args);

}  // namespace cardperso::adsctl
