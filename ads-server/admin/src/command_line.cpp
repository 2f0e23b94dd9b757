#include "command_line.hpp"

#include <pwd.h>
#include <unistd.h>

#include <ctime>
#include <iostream>

#include "cardperso/ads/store/key_check.hpp"
#include "cardperso/ads/store/migrations.hpp"

namespace cardperso::adsctl {

Invocation::Invocation(const std::string& full_name, std::string usage, std::string description)
    : cl_({.name = full_name, .usage = std::move(usage), .description = std::move(description)}) {}

std::optional<int> Invocation::parse(const std::vector<std::string>& args) {
  cl_.options().add_options()
      ("db", po::value(&common_.db_path)->default_value(common_.db_path), "ADS database: a SQLite file (PATH or sqlite:PATH) or a postgresql:// URL")
      ("master-key", po::value(&common_.key_path)->default_value(common_.key_path), "ADS master key file (mode 0600)");
  return cl_.parse(args, vm_);
}

Store* Invocation::open_store() {
  auto key = ads::MasterKey::load_file(common_.key_path);
  if (!key) {
    refused(key.error().message);
    return nullptr;
  }
  auto db = ads::open_ads_database(common_.db_path, ads::OpenMode::MustExist);
  if (!db) {
    refused(db.error().message);
    return nullptr;
  }
  if (auto checked = ads::check_master_key(*db, *key); !checked) {
    refused(checked.error().message);
    return nullptr;
  }
  store_.emplace(std::move(db).value(), std::move(key).value());
  return &*store_;
}

ads::CardStock Store::card_stock() { return ads::CardStock(db, key, audit, actor_name()); }

ads::CardRecords Store::card_records() { return ads::CardRecords(db, key, audit, actor_name()); }

ads::NumberPools Store::number_pools() { return ads::NumberPools(db, audit, actor_name()); }

ads::RetailerStore Store::retailers() { return ads::RetailerStore(db, key, audit, actor_name()); }

ads::TerminalStore Store::terminals() { return ads::TerminalStore(db, audit, actor_name()); }

int refused(const std::string& message) {
  std::cerr << "adsctl: " << message << "\n";
  return kExitRefused;
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
