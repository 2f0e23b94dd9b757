#include <iostream>

#include "cardperso/ads/store/audit_log.hpp"
#include "command_line.hpp"

namespace cardperso::adsctl {

namespace {

int run_show(const std::vector<std::string>& args, const std::string& command_name) {
  Invocation command(command_name, "[--last N]", "Prints the last N audit log entries, oldest first.");
  int last = 20;
  command.options().add_options()("last", po::value(&last)->default_value(last), "how many entries (1..100000)");
  if (auto stop = command.parse(args)) return *stop;
  if (last < 1 || last > 100000) return command.usage_error("--last must be 1 to 100000");
  return command.with_store([&](Store& store) -> int {
    auto entries = store.audit.last(last);
    if (!entries) return refused(entries.error().message);
    for (const auto& e : *entries) {
      std::cout << e.seq << "  " << format_time(e.at) << "  " << e.actor << "  " << e.event << "  " << e.subject
                << (e.detail.empty() ? "" : "  ") << e.detail << "\n";
    }
    return kExitOk;
  });
}

int run_verify(const std::vector<std::string>& args, const std::string& command_name) {
  Invocation command(command_name, "",
                        "Walks the audit log's hash chain (keyed from the master key) and reports the first broken link.\n"
                        "Exit code 2 when the log was altered.");
  return command.run(args, [](Store& store) -> int {
    auto report = store.audit.verify();
    if (!report) return refused(report.error().message);
    if (!report->intact()) {
      return refused("audit log broken at entry " + std::to_string(*report->first_broken_seq) + ": " +
                     report->problem + "; " + std::to_string(report->entries_checked) +
                     " entries before it are intact. Keep this database for investigation and restore from backup.");
    }
    std::cout << "audit log intact: " << report->entries_checked << " entries\n";
    return kExitOk;
  });
}

}  // namespace

std::vector<cli::Subcommand> audit_commands() {
  return {{"audit show", "[--last N]", "print the last audit log entries", run_show},
          {"audit verify", "", "check the audit log's hash chain", run_verify}};
}

}  // namespace cardperso::adsctl
