// adsctl pool add | list | release-retired: the IMSI and MSISDN ranges the ADS hands numbers out from.
#include <iomanip>
#include <iostream>

#include "cardperso/ads/store/audit_log.hpp"
#include "cardperso/ads/store/number_pools.hpp"
#include "command_line.hpp"

namespace cardperso::adsctl {

namespace {

int run_add(const std::vector<std::string>& args) {
  const Command command{
      "pool add", "--kind imsi|msisdn --prefix DIGITS --first DIGITS --last DIGITS",
      "Adds a number pool: values prefix || number, the number zero-padded to the digits of --last, for\n"
      "first <= number <= last. E.g. --kind imsi --prefix 00101 --first 0000000001 --last 0000009999.\n"
      "A pool that shares a value with another pool of its kind is refused."};
  CommonOptions common;
  std::string kind, prefix, first, last;
  po::options_description options("Options");
  options.add_options()
      ("kind", po::value(&kind)->required(), "imsi or msisdn")
      ("prefix", po::value(&prefix)->default_value(""), "leading digits of every value (IMSI: MCC+MNC, ...)")
      ("first", po::value(&first)->required(), "first number of the range (digits)")
      ("last", po::value(&last)->required(), "last number of the range (digits; its length is the width)");
  add_common_options(options, common);
  po::variables_map vm;
  if (auto stop = parse(command, args, options, {}, common, vm)) return *stop;
  auto k = ads::parse_number_kind(kind);
  if (!k) return usage_error("--kind must be imsi or msisdn", command.name);
  auto store = open_store(common);
  if (!store) return refused(store.error().message);
  ads::AuditLog audit(store->db, store->key);
  ads::NumberPools pools(store->db, audit, actor_name());
  auto id = pools.add_pool(*k, prefix, first, last);
  if (!id) return refused(id.error().message);
  std::cout << kind << " pool " << *id << " added\n";
  return kExitOk;
}

int run_list(const std::vector<std::string>& args) {
  const Command command{"pool list", "",
                        "Lists the number pools: range, numbers never used, reserved (personalisation running),\n"
                        "committed (on a card), released (given back, handed out again first) and retired (maybe on\n"
                        "a spoiled card: never handed out again until `adsctl pool release-retired`)."};
  CommonOptions common;
  po::options_description options("Options");
  add_common_options(options, common);
  po::variables_map vm;
  if (auto stop = parse(command, args, options, {}, common, vm)) return *stop;
  auto store = open_store(common);
  if (!store) return refused(store.error().message);
  ads::AuditLog audit(store->db, store->key);
  ads::NumberPools pools(store->db, audit, actor_name());
  auto all = pools.list();
  if (!all) return refused(all.error().message);
  std::cout << std::left << std::setw(5) << "ID" << std::setw(8) << "KIND" << std::setw(36) << "RANGE" << std::setw(10)
            << "UNUSED" << std::setw(10) << "RESERVED" << std::setw(10) << "COMMITTED" << std::setw(10) << "RELEASED"
            << "RETIRED\n";
  for (const auto& p : *all) {
    std::cout << std::left << std::setw(5) << p.id << std::setw(8) << ads::to_string(p.kind) << std::setw(36)
              << (p.value_of(p.first) + ".." + p.value_of(p.last)) << std::setw(10) << p.never_used() << std::setw(10)
              << p.reserved << std::setw(10) << p.committed << std::setw(10) << p.released << p.retired << "\n";
  }
  return kExitOk;
}

int run_release_retired(const std::vector<std::string>& args) {
  const Command command{"pool release-retired", "--iccid ICCID",
                        "Gives the numbers retired with a spoiled card back to the pool. Only once the card is\n"
                        "destroyed: it may carry them, and a number must never be on two cards. Audited."};
  CommonOptions common;
  std::string iccid;
  po::options_description options("Options");
  options.add_options()("iccid", po::value(&iccid)->required(), "the spoiled card, destroyed");
  add_common_options(options, common);
  po::variables_map vm;
  if (auto stop = parse(command, args, options, {}, common, vm)) return *stop;
  auto store = open_store(common);
  if (!store) return refused(store.error().message);
  ads::AuditLog audit(store->db, store->key);
  ads::NumberPools pools(store->db, audit, actor_name());
  auto n = pools.release_retired(iccid);
  if (!n) return refused(n.error().message);
  std::cout << *n << " retired number(s) of card " << iccid << " released\n";
  return kExitOk;
}

void print_pool_help() {
  std::cout << "Usage: adsctl pool <add|list|release-retired> [options]\n\n"
               "  add              add an IMSI or MSISDN range\n"
               "  list             list the ranges and how their numbers are used\n"
               "  release-retired  give back the numbers of a destroyed spoiled card\n\n"
               "Run `adsctl pool <subcommand> --help` for the options of each.\n";
}

}  // namespace

int run_pool(const std::vector<std::string>& args) {
  if (args.empty()) {
    print_pool_help();
    return kExitUsage;
  }
  const std::string& sub = args.front();
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (sub == "--help" || sub == "-h") {
    print_pool_help();
    return kExitOk;
  }
  if (sub == "add") return run_add(rest);
  if (sub == "list") return run_list(rest);
  if (sub == "release-retired") return run_release_retired(rest);
  return usage_error("unknown subcommand '" + sub + "'", "pool");
}

}  // namespace cardperso::adsctl
