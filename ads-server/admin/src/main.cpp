// adsctl: the issuer's administration tool for the ADS database (retailers, audit log, card stock, number pools, card records).
#include <iostream>
#include <string>
#include <vector>

#include "cardperso/common/process_hardening.hpp"
#include "command_line.hpp"

namespace {

void print_tool_help() {
  std::cout << "Usage: adsctl <command> [options]\n\n"
               "Administers the ADS database of the cardperso issuer server.\n\n"
               "Commands:\n"
               "  init                      create the database and the master key\n"
               "  retailer enrol            enrol a retailer card and write its card image\n"
               "  retailer list             list retailer cards (never their keys)\n"
               "  retailer revoke SERIAL    revoke a retailer card for good\n"
               "  retailer unlock SERIAL    clear a lock after failed authentications\n"
               "  audit show [--last N]     print the last audit log entries\n"
               "  audit verify              check the audit log's hash chain\n"
               "  batch import-secret       import blank cards from a batch secret and an ICCID range\n"
               "  batch import-csv          import blank cards from a manufacturer's pySim-prog CSV file\n"
               "  batch assign              assign a batch to a retailer\n"
               "  batch list                list batches and their cards' states\n"
               "  pool add                  add an IMSI or MSISDN range\n"
               "  pool list                 list number ranges and their use\n"
               "  card show ICCID           a card's state, record versions and numbers\n"
               "  card list [--state S]     list cards\n\n"
               "Every command takes --db PATH (default ./ads.db), --master-key PATH (default ./ads-master.key)\n"
               "and --help. Exit codes: 0 done, 1 usage error, 2 refused or failed.\n";
}

}  // namespace

int main(int argc, char** argv) {
  // adsctl handles master keys, batch secrets and card codes; it logs nothing, so no report is shown.
  cardperso::harden_process({.secure_heap_bytes = 1024 * 1024, .secure_heap_min_block = 16});
  using namespace cardperso::adsctl;
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    print_tool_help();
    return kExitUsage;
  }
  const std::string command = args.front();
  args.erase(args.begin());
  try {
    if (command == "--help" || command == "-h" || command == "help") {
      print_tool_help();
      return kExitOk;
    }
    if (command == "init") return run_init(args);
    if (command == "retailer") return run_retailer(args);
    if (command == "audit") return run_audit(args);
    if (command == "batch") return run_batch(args);
    if (command == "pool") return run_pool(args);
    if (command == "card") return run_card(args);
  } catch (const std::exception& e) {
    std::cerr << "adsctl: internal error: " << e.what() << "\n";
    return kExitRefused;
  }
  std::cerr << "adsctl: unknown command '" << command << "'; run `adsctl --help`\n";
  return kExitUsage;
}
