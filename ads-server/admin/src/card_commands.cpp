// adsctl card show | list: the state of customer cards, their record versions and numbers. Never Ki,
// OPc, codes or personal data.
#include <iomanip>
#include <iostream>

#include "cardperso/ads/store/audit_log.hpp"
#include "cardperso/ads/store/card_records.hpp"
#include "cardperso/ads/store/card_stock.hpp"
#include "cardperso/ads/store/number_pools.hpp"
#include "command_line.hpp"

namespace cardperso::adsctl {

namespace {

int run_show(const std::vector<std::string>& args) {
  const Command command{"card show", "ICCID",
                        "Shows a card: batch, retailer, state, attempts, last failure, record versions and numbers.\n"
                        "Never its Ki, OPc, codes or the subscriber's personal data."};
  CommonOptions common;
  std::string iccid;
  po::options_description options("Options");
  options.add_options()("iccid", po::value(&iccid)->required(), "the card's ICCID (also as the first argument)");
  add_common_options(options, common);
  po::positional_options_description positional;
  positional.add("iccid", 1);
  po::variables_map vm;
  if (auto stop = parse(command, args, options, positional, common, vm)) return *stop;
  auto store = open_store(common);
  if (!store) return refused(store.error().message);
  ads::AuditLog audit(store->db, store->key);
  ads::CardStock stock(store->db, store->key, audit, actor_name());
  auto card = stock.find_card(iccid);
  if (!card) return refused(card.error().message);
  if (!card->has_value()) return refused("card " + iccid + " is not in any imported batch");
  const ads::CardSummary& c = **card;
  std::cout << "iccid        " << c.iccid << "\n"
            << "batch        " << c.batch_name << "\n"
            << "retailer     " << c.retailer_serial.value_or("-") << "\n"
            << "state        " << ads::to_string(c.state) << "\n"
            << "attempts     " << c.attempts << "\n"
            << "updated      " << format_time(c.updated_at) << "\n";
  if (!c.failed_step.empty() || !c.failure_reason.empty()) {
    std::cout << "last failure step " << c.failed_step << ": " << c.failure_reason << "\n";
  }
  ads::CardRecords records(store->db, store->key, audit, actor_name());
  auto history = records.history(iccid);
  if (!history) return refused(history.error().message);
  for (const auto& v : *history) {
    std::cout << "version " << v.version << "    " << format_time(v.created_at) << "  imsi " << v.imsi << "  msisdn "
              << v.msisdn << "  profile " << v.profile << "  retailer " << v.retailer_serial;
    if (v.session_id) std::cout << "  session " << *v.session_id;
    std::cout << "\n";
  }
  ads::NumberPools pools(store->db, audit, actor_name());
  auto numbers = pools.numbers_of(iccid);
  if (!numbers) return refused(numbers.error().message);
  for (const auto& n : *numbers) {
    std::cout << "number       " << ads::to_string(n.kind) << " " << n.value << " " << ads::to_string(n.state) << "\n";
  }
  return kExitOk;
}

int run_list(const std::vector<std::string>& args) {
  const Command command{"card list", "[--state S] [--limit N]",
                        "Lists cards by ICCID, optionally only those in one state\n"
                        "(blank, in_progress, personalised, failed, spoiled)."};
  CommonOptions common;
  std::string state;
  int limit = 1000;
  po::options_description options("Options");
  options.add_options()
      ("state", po::value(&state), "only cards in this state")
      ("limit", po::value(&limit)->default_value(limit), "at most this many cards (1 to 1000000)");
  add_common_options(options, common);
  po::variables_map vm;
  if (auto stop = parse(command, args, options, {}, common, vm)) return *stop;
  std::optional<ads::CardState> wanted;
  if (!state.empty()) {
    wanted = ads::parse_card_state(state);
    if (!wanted) {
      return usage_error("--state must be blank, in_progress, personalised, failed or spoiled", command.name);
    }
  }
  if (limit < 1 || limit > 1000000) return usage_error("--limit must be 1 to 1000000", command.name);
  auto store = open_store(common);
  if (!store) return refused(store.error().message);
  ads::AuditLog audit(store->db, store->key);
  ads::CardStock stock(store->db, store->key, audit, actor_name());
  auto cards = stock.list_cards(wanted, limit);
  if (!cards) return refused(cards.error().message);
  std::cout << std::left << std::setw(22) << "ICCID" << std::setw(20) << "BATCH" << std::setw(14) << "STATE"
            << std::setw(9) << "ATTEMPTS" << "UPDATED\n";
  for (const auto& c : *cards) {
    std::cout << std::left << std::setw(22) << c.iccid << std::setw(20) << c.batch_name << std::setw(14)
              << ads::to_string(c.state) << std::setw(9) << c.attempts << format_time(c.updated_at) << "\n";
  }
  return kExitOk;
}

void print_card_help() {
  std::cout << "Usage: adsctl card <show|list> [options]\n\n"
               "  show ICCID   a card's state, record versions and numbers\n"
               "  list         cards, optionally by state\n\n"
               "Run `adsctl card <subcommand> --help` for the options of each.\n";
}

}  // namespace

int run_card(const std::vector<std::string>& args) {
  if (args.empty()) {
    print_card_help();
    return kExitUsage;
  }
  const std::string& sub = args.front();
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (sub == "--help" || sub == "-h") {
    print_card_help();
    return kExitOk;
  }
  if (sub == "show") return run_show(rest);
  if (sub == "list") return run_list(rest);
  return usage_error("unknown subcommand '" + sub + "'", "card");
}

}  // namespace cardperso::adsctl
