// ads-server: the issuer's central server. Opens the store, accepts DTD links and serves sessions
// until SIGTERM/SIGINT; SIGHUP reloads the assessment policy and the card profile (perso_setup.hpp).
// The io_context runs on this one thread.
#include <sys/resource.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <iostream>

#include <boost/asio/thread_pool.hpp>

#include "ads_metrics.hpp"
#include "ads_options.hpp"
#include "cardperso/ads/hlr/osmo_ctrl_client.hpp"
#include "cardperso/ads/hlr/provisioner.hpp"
#include "cardperso/ads/perso/perso_services_sqlite.hpp"
#include "cardperso/ads/store/card_stock.hpp"
#include "cardperso/ads/store/group_commit.hpp"
#include "perso_setup.hpp"
#include "cardperso/ads/service/connection_session.hpp"
#include "cardperso/ads/store/sqlite_directory.hpp"
#include "cardperso/ads/store/key_check.hpp"
#include "cardperso/ads/store/master_key.hpp"
#include "cardperso/ads/store/migrations.hpp"
#include "cardperso/ads/store/session_store.hpp"
#include "cardperso/cli/logged_run.hpp"
#include "cardperso/common/logging.hpp"
#include "cardperso/common/process_hardening.hpp"
#include "cardperso/net/shutdown_signals.hpp"
#include "cardperso/net/stop_signal.hpp"
#include "cardperso/net/tcp_listener.hpp"

namespace {

using namespace cardperso;
namespace asio = net::asio;

constexpr int kExitRefused = 2;
// Sessions get this long to end after a shutdown request before their links are closed.
constexpr std::chrono::seconds kShutdownGrace{5};
// Threads for blocking work off the event loop: external assessment commands.
constexpr std::size_t kBlockingThreads = 2;

int refuse(const std::string& message) {
  spdlog::error("{}", message);
  std::cerr << "ads-server: " << message << "\n";
  return kExitRefused;
}

// Each DTD link is a descriptor; the usual soft limit of 1024 would cap the shops far below the
// connection limit. Raise the soft limit to the hard one, as far as the process may.
void raise_descriptor_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    spdlog::warn("cannot read the open-file limit: {}", std::strerror(errno));
    return;
  }
  if (limit.rlim_cur < limit.rlim_max) {
    const auto before = limit.rlim_cur;
    limit.rlim_cur = limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) {
      spdlog::warn("cannot raise the open-file limit from {} to {}: {}", before, limit.rlim_max, std::strerror(errno));
      return;
    }
  }
  spdlog::info("open-file limit: {} (links beyond it are refused at accept)", static_cast<unsigned long long>(limit.rlim_cur));
}

// The journal's retention, applied every hour while the server runs (and once at start).
asio::awaitable<void> prune_hourly(ads::SqliteDirectory& directory, std::chrono::seconds retention,
                                   std::shared_ptr<ads::ServerContext> server) {
  while (!server->stop.requested()) {
    co_await net::sleep_unless_stopped(std::chrono::hours(1), std::shared_ptr<net::StopSignal>(server, &server->stop));
    if (server->stop.requested()) co_return;
    if (auto pruned = directory.prune_sessions(retention); !pruned)
      spdlog::error("cannot prune the sessions journal: {}", pruned.error().message);
    else if (*pruned > 0)
      spdlog::info("{} journal rows older than the retention pruned", *pruned);
  }
}

// SIGHUP, once per signal for the server's life: the policy and the profile read again and put in
// force on this io thread, between two handlers, so no session sees half of a reload. A failed
// reload leaves the running configuration; nothing here stops the server.
asio::awaitable<void> reload_on_hangup(asio::signal_set& hangup, const ads::AdsOptions& options,
                                       ads::SqlitePersoServices* perso, ads::Database& db, ads::AuditLog& audit) {
  for (;;) {
    boost::system::error_code ec;
    co_await hangup.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;  // cancelled: the server is stopping
    spdlog::info("SIGHUP received: reloading the assessment policy and the card profile");
    ads::reload_perso_setup(options, perso, db, audit);
  }
}

// Several daemons on one PostgreSQL database: the sessions of a daemon that died are closed and its
// cards in progress failed (not counted against them) by the others, every few seconds, so a shop
// that fails over finds its card ready for the retry (a card asked for is also checked at once).
asio::awaitable<void> recover_gone_daemons(ads::Database& db, const ads::MasterKey& key,
                                           std::shared_ptr<net::StopSignal> stop) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  ads::AuditLog audit(db, key);
  ads::CardStock stock(db, key, audit, "ads-server");
  ads::SessionStore sessions(db);
  while (!stop->requested()) {
    timer.expires_after(std::chrono::seconds(3));
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (stop->requested()) break;
    auto closed = sessions.close_dangling();
    if (!closed) spdlog::error("recovering a stopped daemon's sessions: {}", closed.error().message);
    if (closed && *closed > 0) spdlog::warn("{} sessions of an ADS daemon that stopped marked aborted", *closed);
    auto failed = stock.fail_interrupted();
    if (!failed) spdlog::error("recovering a stopped daemon's cards: {}", failed.error().message);
    if (failed && *failed > 0) spdlog::warn("{} cards in progress on an ADS daemon that stopped marked failed (not counted)", *failed);
  }
}

int run(const ads::AdsOptions& options) {
  // Until the io thread's handler takes SIGHUP over (before "listening on"): ignored rather than
  // fatal. Such an early reload is lost; the files were read at most moments before.
  std::signal(SIGHUP, SIG_IGN);
  raise_descriptor_limit();
  for (const auto& [path, what] : {std::pair{options.db_path, "database"}, std::pair{options.key_path, "master key"}}) {
    if (ads::Database::is_postgres_url(path)) continue;  // checked when connecting
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) return refuse("the " + std::string(what) + " " + path + " does not exist; run adsctl init first");
  }
  auto key = ads::MasterKey::load_file(options.key_path);
  if (!key) return refuse(key.error().message);
  auto db = ads::open_ads_database(options.db_path, ads::OpenMode::MustExist);
  if (!db) return refuse(db.error().message);
  const bool shared_db = db->backend() == ads::Backend::Postgres;
  if (shared_db)
    spdlog::info("database {} (PostgreSQL; this daemon is {:x}; other daemons may share it)", db->path(), db->instance());
  if (auto checked = ads::check_master_key(*db, *key); !checked) return refuse(checked.error().message);
  {
    ads::SessionStore sessions(*db);
    auto dangling = sessions.close_dangling();
    if (!dangling) return refuse(dangling.error().message);
    if (*dangling > 0) spdlog::warn("{} sessions left open by a previous run marked aborted", *dangling);
  }
  {
    // Cards whose script was running when a previous run died: failed, their reserved numbers released.
    ads::AuditLog audit(*db, *key);
    ads::CardStock stock(*db, *key, audit, "ads-server");
    auto interrupted = stock.fail_interrupted();
    if (!interrupted) return refuse(interrupted.error().message);
    if (*interrupted > 0) spdlog::warn("{} cards left in progress by a previous run marked failed", *interrupted);
  }
  auto setup = ads::load_perso_setup(options);
  if (!setup) return refuse(setup.error().message);
  spdlog::info("{}", setup->summary);
  // The personalisation services share the directory's connection, so one group commit (one
  // flush) covers the journal, the retailer counters, the card stock, the records and the audit.
  std::optional<ads::SqlitePersoServices> perso;
  if (setup->config) perso.emplace(*db, *key, std::move(*setup->config), std::move(setup->policy));
  asio::thread_pool blocking_pool(kBlockingThreads);
  ads::SqliteDirectory directory(*db, *key, options.lockout);
  if (options.session_retention.count() > 0) {
    auto pruned = directory.prune_sessions(options.session_retention);
    if (!pruned) return refuse(pruned.error().message);
    if (*pruned > 0) spdlog::info("{} journal rows older than the retention pruned", *pruned);
  }
  ads::AddressPenalties penalties(options.address_penalties);

  // Before the io_context: the exporter's threads outlive every handler that reports to it.
  std::unique_ptr<ads::AdsMetrics> metrics;
  if (options.metrics_listen) {
    auto started = ads::AdsMetrics::start(*options.metrics_listen);
    if (!started) return refuse(started.error().message);
    metrics = std::move(started).value();
    spdlog::info("metrics on http://{}/metrics", metrics->endpoint().to_string());
  }

  asio::io_context io;
  // Caught from here to the end of run(): SIGHUP's default action would kill the server, and one
  // that comes while the server stops is only queued.
  asio::signal_set hangup(io, SIGHUP);
  ads::AuditLog reload_audit(*db, *key);
  asio::co_spawn(io, reload_on_hangup(hangup, options, perso ? &*perso : nullptr, *db, reload_audit), asio::detached);
  // From here on every store write joins the group transaction of the current io turn (on
  // PostgreSQL too: one COMMIT, one taking of the writer lock per turn instead of per call).
  std::optional<ads::GroupCommit> group;
  group.emplace(*db, io.get_executor());
  if (metrics) group->on_flush([m = metrics.get()](std::uint64_t groups, auto took) { m->flushed(groups, took); });
  auto server = std::make_shared<ads::ServerContext>(directory, directory, options.connection);
  server->group = group ? &*group : nullptr;
  if (shared_db)
    asio::co_spawn(io, recover_gone_daemons(*db, *key, std::shared_ptr<net::StopSignal>(server, &server->stop)),
                   asio::detached);
  server->services.penalties = &penalties;
  server->services.metrics = metrics.get();
  if (perso && metrics)
    perso->on_card_done([m = metrics.get()](std::string_view outcome, auto took) { m->card_done(outcome, took); });
  if (options.session_retention.count() > 0)
    asio::co_spawn(io, prune_hourly(directory, options.session_retention, server), asio::detached);
  std::shared_ptr<ads::hlr::Provisioner> provisioner;
  if (options.hlr) {
    provisioner = std::make_shared<ads::hlr::Provisioner>(
        *db, *key, group ? &*group : nullptr, std::make_unique<ads::hlr::OsmoCtrlClient>(options.hlr->ctrl, options.hlr->timeout),
        options.hlr->delivery, std::shared_ptr<net::StopSignal>(server, &server->stop));
    provisioner->start(io.get_executor());
    // A committed record's job goes out at once rather than at the next poll.
    // A weak reference: perso outlives the io_context, the provisioner (whose timer belongs to it) must not.
    if (perso)
      perso->on_record_committed([&io, weak = std::weak_ptr<ads::hlr::Provisioner>(provisioner)] {
        asio::post(io, [weak] {
          if (auto p = weak.lock()) p->wake();
        });
      });
  } else {
    spdlog::info("no --hlr-ctrl: HLR jobs wait in the outbox (adsctl hlr status)");
  }
  if (metrics) {
    metrics->refresh_every(io.get_executor(), std::chrono::seconds(2), *db, provisioner,
                           std::shared_ptr<net::StopSignal>(server, &server->stop));
  }
  if (perso) {
    server->services.perso = &*perso;
    server->services.blocking_pool = &blocking_pool;
  }
  net::ListenerOptions listener_options;
  listener_options.max_connections = options.max_connections;
  listener_options.max_connections_per_source = options.max_connections_per_address;
  if (options.hello_rate.rate_per_second > 0) server->hello_limiter = std::make_shared<ads::HelloRateLimiter>(options.hello_rate);
  auto listener = net::TcpListener::open(io, options.listen, listener_options, [server](net::FramedStream s) {
    return ads::serve_dtd_connection(server, std::move(s));
  });
  if (!listener) return refuse(listener.error().message);
  (*listener)->start();
  const auto local = (*listener)->local_endpoint();
  std::cout << "listening on " << net::Endpoint{local.address().to_string(), local.port()}.to_string() << std::endl;

  net::ShutdownSignals signals(io, [&](int) {
    server->request_stop();
    (*listener)->stop(kShutdownGrace, [&] {
      signals.cancel();
      io.stop();
    });
  });
  io.run();
  blocking_pool.join();
  if (group) {
    if (auto committed = group->finish(); !committed)
      spdlog::error("the last records could not be made durable: {}", committed.error().message);
  }
  if (provisioner) {
    const auto& c = provisioner->counters();
    spdlog::info("HLR provisioning: {} jobs delivered, {} refused by the HLR, {} link failures", c.delivered, c.refused,
                 c.link_failures);
  }
  if (group)
    spdlog::info("group commit: {} commits, {} flushes, {} failed", group->commits(), group->flushes(), group->failures());
  spdlog::info("ads-server stopped: {} sessions established, {} refused, {} retailer lockouts, {} address back-offs",
               server->services.sessions_established.load(), server->services.sessions_refused.load(),
               server->services.retailer_lockouts.load(), penalties.backoffs());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const auto hardening = cardperso::harden_process();  // before any key is read
  auto parsed = cardperso::ads::parse_ads_options(argc, argv);
  if (auto* code = std::get_if<int>(&parsed)) return *code;
  const auto& options = std::get<cardperso::ads::AdsOptions>(parsed);
  return cardperso::cli::run_logged("ads-server", options.log, hardening, [&options] { return run(options); });
}
