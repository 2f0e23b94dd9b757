#include <iostream>

#include "cardperso/ads/store/audit_log.hpp"
#include "command_line.hpp"

namespace cardperso::adsctl {

namespace {

int run_show(const std::vector<std::string>& args) {
  const Command command{"audit show", "[--last N]", "Prints the last N audit log entries, oldest first."};
  CommonOptions common;
  int last = 20;
  po::options_description options("Options");
  options.add_options()("last", po::value(&last)->default_value(last), "how many entries (1..100000)");
  add_common_options(options, common);
  po::variables_map vm;
  if (auto stop = parse(command, args, options, {}, common, vm)) return *stop;
  if (last < 1 || last > 100000) return usage_error("--last must be 1 to 100000", command.name);
  auto store = open_store(common);
  if (!store) return refused(store.error().message);
  ads::AuditLog audit(store->db, store->key);
  auto entries = audit.last(last);
  if (!entries) return refused(entries.error().message);
  for (const auto& e : *entries) {
    std::cout << e.seq << "  " << format_time(e.at) << "  " << e.actor << "  " << e.event << "  " << e.subject
              << (e.detail.empty() ? "" : "  ") << e.detail << "\n";
  }
  return kExitOk;
}

int run_verify(const std::vector<std::string>& args) {
  const Command command{"audit verify", "",
                        "Walks the audit log's hash chain (keyed from the master key) and reports the first broken link.\n"
                        "Exit code 2 when the log was altered."};
  CommonOptions common;
  po::options_description options("Options");
  add_common_options(options, common);
  po::variables_map vm;
  if (auto stop = parse(command, args, options, {}, common, vm)) return *stop;
  auto store = open_store(common);
  if (!store) return refused(store.error().message);
  ads::AuditLog audit(store->db, store->key);
  auto report = audit.verify();
  if (!report) return refused(report.error().message);
  if (!report->intact()) {
    return refused("audit log broken at entry " + std::to_string(*report->first_broken_seq) + ": " + report->problem +
                   "; " + std::to_string(report->entries_checked) +
                   " entries before it are intact. Keep this database for investigation and restore from backup.");
  }
  std::cout << "audit log intact: " << report->entries_checked << " entries\n";
  return kExitOk;
}

void print_audit_help() {
  std::cout << "Usage: adsctl audit <show|verify> [options]\n\n"
               "  show     print the last audit log entries\n"
               "  verify   check the audit log's hash chain\n\n"
               "Run `adsctl audit <subcommand> --help` for the options of each.\n";
}

}  // namespace

int run_audit(const std::vector<std::string>& args) {
  if (args.empty()) {
    print_audit_help();
    return kExitUsage;
  }
  const std::string& sub = args.front();
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (sub == "--help" || sub == "-h") {
    print_audit_help();
    return kExitOk;
  }
  if (sub == "show") return run_show(rest);
  if (sub == "verify") return run_verify(rest);
  return usage_error("unknown subcommand '" + sub + "'", "audit");
}

}  // namespace cardperso::adsctl
