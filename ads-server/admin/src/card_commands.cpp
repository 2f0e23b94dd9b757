// adsctl card show | list | receipt | retire: the state of customer cards, their record versions and numbers,
// and a card's receipt printed again. Never Ki, OPc or codes; personal data only the name a receipt
// carries.
#include <iostream>

#include "cardperso/ads/perso/receipt.hpp"

#include "cardperso/ads/store/card_records.hpp"
#include "cardperso/ads/store/card_stock.hpp"
#include "cardperso/ads/store/number_pools.hpp"
#include "command_line.hpp"
#include "text_table.hpp"

namespace cardperso::adsctl {

namespace {

int run_show(const std::vector<std::string>& args, const std::string& command_name) {
  Invocation command(command_name, "ICCID",
                        "Shows a card: batch, retailer, state, attempts, last failure, record versions and numbers.\n"
                        "Never its Ki, OPc, codes or the subscriber's personal data.");
  std::string iccid;
  command.options().add_options()("iccid", po::value(&iccid)->required(), "the card's ICCID (also as the first argument)");
  command.positional().add("iccid", 1);
  return command.run(args, [&](Store& store) -> int {
    auto card = store.card_stock().find_card(iccid);
    if (!card) return refused(card.error().message);
    if (!card->has_value()) return refused("card " + iccid + " is not in any imported batch");
    const ads::CardSummary& c = **card;
    std::cout << "iccid        " << c.iccid << "\n"
              << "batch        " << c.batch_name << "\n"
              << "retailer     " << c.retailer_serial.value_or("-") << "\n"
              << "state        " << ads::to_string(c.state) << "\n"
              << "attempts     " << c.attempts << " (failures that count: " << c.failures << " of "
              << ads::kMaxPersonalisationAttempts << ")\n"
              << "updated      " << format_time(c.updated_at) << "\n";
    if (c.state == ads::CardState::Spoiled && c.failed_step == "retired") {
      std::cout << "retired      " << c.failure_reason << "\n";
    } else if (!c.failed_step.empty() || !c.failure_reason.empty()) {
      std::cout << "last failure step " << c.failed_step << ": " << c.failure_reason << "\n";
    }
    auto history = store.card_records().history(iccid);
    if (!history) return refused(history.error().message);
    for (const auto& v : *history) {
      std::cout << "version " << v.version << "    " << format_time(v.created_at) << "  imsi " << v.imsi
                << "  msisdn " << v.msisdn << "  profile " << v.profile << "  retailer " << v.retailer_serial;
      if (v.session_id) std::cout << "  session " << *v.session_id;
      std::cout << "\n";
    }
    auto numbers = store.number_pools().numbers_of(iccid);
    if (!numbers) return refused(numbers.error().message);
    for (const auto& n : *numbers) {
      std::cout << "number       " << ads::to_string(n.kind) << " " << n.value << " " << ads::to_string(n.state)
                << "\n";
    }
    return kExitOk;
  });
}

int run_list(const std::vector<std::string>& args, const std::string& command_name) {
  Invocation command(command_name, "[--state S] [--limit N]",
                        "Lists cards by ICCID, optionally only those in one state\n"
                        "(blank, in_progress, personalised, failed, spoiled).");
  std::string state;
  int limit = 1000;
  command.options().add_options()
      ("state", po::value(&state), "only cards in this state")
      ("limit", po::value(&limit)->default_value(limit), "at most this many cards (1 to 1000000)");
  if (auto stop = command.parse(args)) return *stop;
  std::optional<ads::CardState> wanted;
  if (!state.empty()) {
    wanted = ads::parse_card_state(state);
    if (!wanted) {
      return command.usage_error("--state must be blank, in_progress, personalised, failed or spoiled");
    }
  }
  if (limit < 1 || limit > 1000000) return command.usage_error("--limit must be 1 to 1000000");
  return command.with_store([&](Store& store) -> int {
    auto cards = store.card_stock().list_cards(wanted, limit);
    if (!cards) return refused(cards.error().message);
    TextTable table(std::cout, {{"ICCID", 22}, {"BATCH", 20}, {"STATE", 14}, {"ATTEMPTS", 9}, {"UPDATED"}});
    for (const auto& c : *cards) {
      table.row(c.iccid, c.batch_name, ads::to_string(c.state), c.attempts, format_time(c.updated_at));
    }
    return kExitOk;
  });
}

// The receipt of the card's latest record, as the shop got it (the receipt's JSON, one line), marked
// reissued; audited as receipt_reprinted.
int run_receipt(const std::vector<std::string>& args, const std::string& command_name) {
  Invocation command(command_name, "ICCID",
                     "Prints again the receipt of a card's latest record (the JSON the shop's DTD prints from),\n"
                     "marked \"reissued\": true. Audited as receipt_reprinted.");
  std::string iccid;
  command.options().add_options()("iccid", po::value(&iccid)->required(), "the card's ICCID (also as the first argument)");
  command.positional().add("iccid", 1);
  return command.run(args, [&](Store& store) -> int {
    auto records = store.card_records();
    auto printed = store.db.with_transaction([&]() -> Result<ads::ReceiptData> {
      auto receipt = ads::receipt_of_latest_record(records, iccid);
      if (!receipt) return receipt.error();
      auto logged = store.audit.append(actor_name(), "receipt_reprinted", iccid,
                                       "record_version=" + std::to_string(receipt->record_version));
      if (!logged) return logged.error();
      receipt->reissued = true;
      return receipt;
    });
    if (!printed) return refused(printed.error().message);
    std::cout << ads::receipt_json(*printed) << "\n";
    return kExitOk;
  });
}

// A personalised card taken out of service for good (lost, stolen, returned, broken).
int run_retire(const std::vector<std::string>& args, const std::string& command_name) {
  Invocation command(command_name, "ICCID --reason TEXT",
                     "Takes a personalised card out of service for good: it becomes spoiled (never personalised or\n"
                     "modified again), its IMSI and MSISDN are retired (not handed out again while the card may\n"
                     "exist; `adsctl pool release-retired` once it is destroyed), and the removal of its subscriber\n"
                     "from the HLR is queued. Audited as card_retired.");
  std::string iccid, reason;
  command.options().add_options()
      ("iccid", po::value(&iccid)->required(), "the card's ICCID (also as the first argument)")
      ("reason", po::value(&reason)->required(), "why, for the record: lost, stolen, returned, ...");
  command.positional().add("iccid", 1);
  return command.run(args, [&](Store& store) -> int {
    if (auto retired = store.card_records().retire(iccid, reason); !retired) return refused(retired.error().message);
    std::cout << "card " << iccid << " retired; its subscriber's removal from the HLR is queued\n";
    return kExitOk;
  });
}

}  // namespace

std::vector<cli::Subcommand> card_commands() {
  return {{"card show", "ICCID", "a card's state, record versions and numbers", run_show},
          {"card list", "[--state S]", "list cards, optionally by state", run_list},
          {"card receipt", "ICCID", "print a card's receipt again (audited)", run_receipt},
          {"card retire", "ICCID --reason TEXT", "take a personalised card out of service (lost, stolen)", run_retire}};
}

}  // namespace cardperso::adsctl
