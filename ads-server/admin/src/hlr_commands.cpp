// adsctl hlr status | sync | check: the HLR provisioning outbox (docs/operations.md, "Connecting the ADS to
// the HLR"). status and sync work on the database alone; check asks the HLR itself over CTRL.
#include <iostream>

#include "cardperso/ads/hlr/ctrl_connection.hpp"
#include "cardperso/ads/hlr/hlr_view.hpp"
#include "cardperso/ads/store/hlr_outbox.hpp"
#include "command_line.hpp"
#include "text_table.hpp"

namespace cardperso::adsctl {

namespace {

namespace asio = net::asio;

std::string age(ads::Seconds since) {
  const auto seconds = std::max<std::int64_t>(0, (ads::system_now() - since).count());
  return std::to_string(seconds) + " s";
}

int run_status(const std::vector<std::string>& args, const std::string& command_name) {
  Invocation command(command_name, "[--jobs N]",
                     "The HLR provisioning backlog: jobs waiting for the HLR, the oldest one's age, the job tried\n"
                     "most often and its last error, and the last delivery. Exit 0 whatever the backlog; a monitor\n"
                     "reads the 'waiting' line. --jobs N also lists the first N waiting jobs.");
  int listed = 0;
  command.options().add_options()("jobs", po::value(&listed)->default_value(0), "list this many waiting jobs (0 to 1000)");
  if (auto stop = command.parse(args)) return *stop;
  if (listed < 0 || listed > 1000) return command.usage_error("--jobs must be 0 to 1000");
  return command.with_store([&](Store& store) -> int {
    ads::HlrOutbox outbox(store.db, store.audit, actor_name());
    auto b = outbox.backlog();
    if (!b) return refused(b.error().message);
    std::cout << "waiting      " << b->pending << " jobs";
    if (b->oldest_pending_since) std::cout << " (oldest queued " << format_time(*b->oldest_pending_since) << ", " << age(*b->oldest_pending_since) << " ago)";
    std::cout << "\ndelivered    " << b->delivered << " jobs";
    if (b->last_delivered_at) std::cout << " (last " << format_time(*b->last_delivered_at) << ")";
    std::cout << "\n";
    if (b->stuck) {
      std::cout << "most tried   job " << b->stuck->id << " " << ads::to_string(b->stuck->action) << " "
                << b->stuck->iccid << ": " << b->stuck->attempts << " attempts, next "
                << format_time(b->stuck->next_attempt_at) << "\nlast error   " << b->stuck->last_error << "\n";
    }
    if (listed > 0) {
      auto due = store.db.read_rows(
          "SELECT id, iccid, action, imsi, attempts, next_attempt_at, last_error FROM hlr_jobs WHERE delivered_at IS "
          "NULL ORDER BY id LIMIT ?1",
          "list waiting HLR jobs",
          [](const ads::Statement& s) {
            return std::tuple{s.column_int(0), s.column_text(1), s.column_text(2), s.column_text(3), s.column_int(4),
                              s.column_int(5), s.column_text(6)};
          },
          std::int64_t{listed});
      if (!due) return refused(due.error().message);
      TextTable table(std::cout, {{"JOB", 8}, {"ICCID", 22}, {"ACTION", 10}, {"IMSI", 17}, {"TRIES", 6}, {"NEXT", 22},
                                  {"LAST ERROR"}});
      for (const auto& [id, iccid, action, imsi, attempts, next, error] : *due)
        table.row(id, iccid, action, imsi, attempts, format_time(ads::from_unix(next)), error);
    }
    return kExitOk;
  });
}

int run_sync(const std::vector<std::string>& args, const std::string& command_name) {
  Invocation command(command_name, "",
                     "Queues a provision job for the latest record of every card in service, for a new HLR or one\n"
                     "that lost data. A running ads-server with --hlr-ctrl delivers them (create-or-update: cards\n"
                     "the HLR already has are rewritten with the same values). Audited as hlr_sync.");
  return command.run(args, [&](Store& store) -> int {
    ads::HlrOutbox outbox(store.db, store.audit, actor_name());
    auto n = outbox.enqueue_everything();
    if (!n) return refused(n.error().message);
    std::cout << *n << " provision jobs queued\n";
    return kExitOk;
  });
}

// One CTRL GET of the subscriber's info-all, into *answer.
asio::awaitable<void> ask_hlr(net::Endpoint hlr, std::string imsi, std::chrono::milliseconds timeout,
                              std::optional<Result<ads::hlr::CtrlReply>>* answer) {
  auto link = co_await ads::hlr::CtrlConnection::connect(hlr, timeout);
  if (!link) {
    answer->emplace(link.error());
    co_return;
  }
  answer->emplace(co_await (*link)->request(ads::hlr::CtrlVerb::Get, ads::hlr::subscriber_variable(imsi, "info-all"),
                                            ads::hlr::CtrlText{}, timeout));
}

int run_check(const std::vector<std::string>& args, const std::string& command_name) {
  Invocation command(command_name, "ICCID --hlr-ctrl HOST:PORT",
                     "Compares what the HLR holds for a card's subscriber with the card's latest record: IMSI,\n"
                     "MSISDN, access enabled, Milenage K and OPc (compared, never shown). A retired card must be\n"
                     "absent. Exit 0 when they match, 2 when they differ or the HLR cannot be asked.");
  std::string iccid, hlr_ctrl;
  long long timeout_ms = 5000;
  command.options().add_options()
      ("iccid", po::value(&iccid)->required(), "the card's ICCID (also as the first argument)")
      ("hlr-ctrl", po::value(&hlr_ctrl)->required(), "HOST:PORT of the HLR's CTRL interface (osmo-hlr: 4259)")
      ("timeout-ms", po::value(&timeout_ms)->default_value(timeout_ms), "connect and reply deadline");
  command.positional().add("iccid", 1);
  if (auto stop = command.parse(args)) return *stop;
  auto hlr = net::parse_endpoint(hlr_ctrl);
  if (!hlr || hlr->port == 0) return command.usage_error("--hlr-ctrl must be HOST:PORT");
  if (timeout_ms <= 0) return command.usage_error("--timeout-ms must be positive");
  return command.with_store([&](Store& store) -> int {
    auto card = store.card_stock().find_card(iccid);
    if (!card) return refused(card.error().message);
    if (!*card) return refused("card " + iccid + " is not in any imported batch");
    auto records = store.card_records();
    auto history = records.history(iccid);
    if (!history) return refused(history.error().message);
    if (history->empty()) return refused("card " + iccid + " has no record: nothing to compare (it is " +
                                         std::string(ads::to_string((*card)->state)) + ")");
    const auto& latest = history->back();
    const bool in_service = (*card)->state != ads::CardState::Spoiled;

    asio::io_context io;
    std::optional<Result<ads::hlr::CtrlReply>> answer;
    asio::co_spawn(io, ask_hlr(*hlr, latest.imsi, std::chrono::milliseconds(timeout_ms), &answer), asio::detached);
    io.run();
    if (!answer || !*answer) return refused(answer ? (*answer).error().message : "no answer from the HLR");
    const ads::hlr::CtrlReply& reply = **answer;
    std::cout << "card         " << iccid << " (" << ads::to_string((*card)->state) << ", record version "
              << latest.version << ")\nimsi         " << latest.imsi << "\n";
    if (reply.kind == ads::hlr::CtrlReply::Kind::Error) {
      const bool absent = reply.value.view() == "No such subscriber.";
      if (absent && !in_service) {
        std::cout << "hlr          absent, as it should be for a retired card\nresult       match\n";
        return kExitOk;
      }
      std::cout << "hlr          " << (absent ? std::string("no such subscriber") : std::string(reply.value.view()))
                << "\nresult       DIFFERENT\n";
      return kExitRefused;
    }
    if (!in_service) {
      std::cout << "hlr          still has the subscriber of this retired card\nresult       DIFFERENT\n";
      return kExitRefused;
    }
    auto view = ads::hlr::parse_info_all(reply.value.view());
    if (!view) return refused(view.error().message);
    auto keys = records.keys_of(iccid, latest.version);
    if (!keys) return refused(keys.error().message);
    ads::hlr::SubscriberData expected{latest.imsi, latest.msisdn, std::move(keys->ki), std::move(keys->opc)};
    const auto differences = ads::hlr::compare_with_record(*view, expected);
    std::cout << "msisdn       record " << latest.msisdn << ", HLR " << (view->msisdn.empty() ? "none" : view->msisdn)
              << "\n";
    for (const auto& d : differences) std::cout << "difference   " << d << "\n";
    std::cout << "result       " << (differences.empty() ? "match" : "DIFFERENT") << "\n";
    return differences.empty() ? kExitOk : kExitRefused;
  });
}

}  // namespace

std::vector<cli::Subcommand> hlr_commands() {
  return {{"hlr status", "", "the HLR provisioning backlog and the last error", run_status},
          {"hlr sync", "", "queue every card in service for the HLR again (a new HLR)", run_sync},
          {"hlr check", "ICCID --hlr-ctrl HOST:PORT", "compare the HLR's subscriber with the card's record", run_check}};
}

}  // namespace cardperso::adsctl
