// adsctl pool add | list | release-retired: the IMSI and MSISDN ranges the ADS hands numbers out from.
#include <iostream>

#include "cardperso/ads/store/number_pools.hpp"
#include "command_line.hpp"
#include "text_table.hpp"

namespace cardperso::adsctl {

namespace {

int run_add(const std::vector<std::string>& args, const std::string& command_name) {
  Invocation command(command_name, "--kind imsi|msisdn --prefix DIGITS --first DIGITS --last DIGITS",
      "Adds a number pool: values prefix || number, the number zero-padded to the digits of --last, for\n"
      "first <= number <= last. E.g. --kind imsi --prefix 00101 --first 0000000001 --last 0000009999.\n"
      "A pool that shares a value with another pool of its kind is refused.");
  std::string kind, prefix, first, last;
  command.options().add_options()
      ("kind", po::value(&kind)->required(), "imsi or msisdn")
      ("prefix", po::value(&prefix)->default_value(""), "leading digits of every value (IMSI: MCC+MNC, ...)")
      ("first", po::value(&first)->required(), "first number of the range (digits)")
      ("last", po::value(&last)->required(), "last number of the range (digits; its length is the width)");
  if (auto stop = command.parse(args)) return *stop;
  auto k = ads::parse_number_kind(kind);
  if (!k) return command.usage_error("--kind must be imsi or msisdn");
  return command.with_store([&](Store& store) -> int {
    auto id = store.number_pools().add_pool(*k, prefix, first, last);
    if (!id) return refused(id.error().message);
    std::cout << kind << " pool " << *id << " added\n";
    return kExitOk;
  });
}

int run_list(const std::vector<std::string>& args, const std::string& command_name) {
  Invocation command(command_name, "",
                        "Lists the number pools: range, numbers never used, reserved (personalisation running),\n"
                        "committed (on a card), released (given back, handed out again first) and retired (maybe on\n"
                        "a spoiled card: never handed out again until `adsctl pool release-retired`).");
  return command.run(args, [](Store& store) -> int {
    auto all = store.number_pools().list();
    if (!all) return refused(all.error().message);
    TextTable table(std::cout, {{"ID", 5}, {"KIND", 8}, {"RANGE", 36}, {"UNUSED", 10}, {"RESERVED", 10},
                                {"COMMITTED", 10}, {"RELEASED", 10}, {"RETIRED"}});
    for (const auto& p : *all) {
      table.row(p.id, ads::to_string(p.kind), p.value_of(p.first) + ".." + p.value_of(p.last), p.never_used(),
                p.reserved, p.committed, p.released, p.retired);
    }
    return kExitOk;
  });
}

int run_release_retired(const std::vector<std::string>& args, const std::string& command_name) {
  Invocation command(command_name, "--iccid ICCID",
                        "Gives the numbers retired with a spoiled card back to the pool. Only once the card is\n"
                        "destroyed: it may carry them, and a number must never be on two cards. Audited.");
  std::string iccid;
  command.options().add_options()("iccid", po::value(&iccid)->required(), "the spoiled card, destroyed");
  return command.run(args, [&](Store& store) -> int {
    auto n = store.number_pools().release_retired(iccid);
    if (!n) return refused(n.error().message);
    std::cout << *n << " retired number(s) of card " << iccid << " released\n";
    return kExitOk;
  });
}

}  // namespace

std::vector<cli::Subcommand> pool_commands() {
  return {{"pool add", "", "add an IMSI or MSISDN range", run_add},
          {"pool list", "", "list number ranges and how their numbers are used", run_list},
          {"pool release-retired", "--iccid ICCID", "give back the numbers of a destroyed spoiled card", run_release_retired}};
}

}  // namespace cardperso::adsctl
