#include "command_line.hpp"

#include <pwd.h>
#include <unistd.h>

#include <ctime>
#include <iostream>

#include "cardperso/ads/store/key_check.hpp"
#include "cardperso/ads/store/migrations.hpp"

namespace cardperso::adsctl {

void add_common_options(po::options_description& options, CommonOptions& common) {
  options.add_options()
      ("db", po::value(&common.db_path)->default_value(common.db_path), "ADS database file")
      ("master-key", po::value(&common.key_path)->default_value(common.key_path), "ADS master key file (mode 0600)")
      ("help,h", po::bool_switch(&common.help), "show this help");
}

void print_help(const Command& command, const po::options_description& options) {
  std::cout << "Usage: adsctl " << command.name << (command.synopsis.empty() ? "" : " ") << command.synopsis << "\n\n"
            << command.description << "\n\n"
            << options << "\n"
            << "Exit codes: 0 done, 1 usage error, 2 refused or failed.\n";
}

int refused(const std::string& message) {
  std::cerr << "adsctl: " << message << "\n";
  return kExitRefused;
}

int usage_error(const std::string& message, const std::string& command_name) {
  std::cerr << "adsctl " << command_name << ": " << message << "\n"
            << "Run `adsctl " << command_name << " --help` for usage.\n";
  return kExitUsage;
}

std::optional<int> parse(const Command& command, const std::vector<std::string>& args, po::options_description& options,
                         const po::positional_options_description& positional, const CommonOptions& common,
                         po::variables_map& vm) {
  try {
    po::store(po::command_line_parser(args).options(options).positional(positional).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    // --help wins over a missing required option.
    for (const auto& a : args)
      if (a == "--help" || a == "-h") {
        print_help(command, options);
        return kExitOk;
      }
    return usage_error(e.what(), command.name);
  }
  if (common.help) {
    print_help(command, options);
    return kExitOk;
  }
  return std::nullopt;
}

Result<OpenedStore> open_store(const CommonOptions& common) {
  auto key = ads::MasterKey::load_file(common.key_path);
  if (!key) return key.error();
  auto db = ads::open_ads_database(common.db_path, ads::OpenMode::MustExist);
  if (!db) return db.error();
  if (auto checked = ads::check_master_key(*db, *key); !checked) return checked.error();
  return OpenedStore{std::move(db).value(), std::move(key).value()};
}

std::string actor_name() {
  const passwd* pw = ::getpwuid(::geteuid());
  return std::string("adsctl:") + (pw != nullptr ? pw->pw_name : std::to_string(::geteuid()));
}

std::string format_time(ads::Seconds t) {
  const std::time_t raw = static_cast<std::time_t>(ads::to_unix(t));
  std::tm tm{};
  ::gmtime_r(&raw, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%SZ", &tm);
  return buf;
}

}  // namespace cardperso::adsctl
