#include "ads_metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <spdlog/spdlog.h>

#include <map>

#include "cardperso/ads/store/hlr_outbox.hpp"
#include "cardperso/ads/store/number_pools.hpp"

namespace cardperso::ads {

namespace asio = net::asio;
namespace pm = prometheus;

namespace {

// Latencies from a millisecond to a minute (a card's script runs for seconds on a real reader).
const pm::Histogram::BucketBoundaries kSecondsBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                          0.5,   1,      2.5,   5,    10,    30,   60};
const pm::Histogram::BucketBoundaries kBatchBuckets = {1, 2, 4, 8, 16, 32, 64, 128, 256};

// Counters fed from totals read elsewhere (the provisioner's): add what is new since the last read.
void advance(pm::Counter& counter, std::uint64_t total) {
  const double now = static_cast<double>(total);
  if (now > counter.Value()) counter.Increment(now - counter.Value());
}

}  // namespace

// Built on the exporter's registry, which owns them (these are references into it).
struct AdsMetrics::Families {
  explicit Families(pm::Registry& r) : registry(r) {}
  pm::Registry& registry;
  pm::Family<pm::Counter>& sessions_established =
      pm::BuildCounter().Name("cardperso_ads_sessions_established_total").Help("Retailer sessions established (mutual authentication done)").Register(registry);
  pm::Family<pm::Counter>& sessions_ended =
      pm::BuildCounter().Name("cardperso_ads_sessions_ended_total").Help("Sessions ended, by outcome (completed, failed, aborted)").Register(registry);
  pm::Family<pm::Counter>& refusals =
      pm::BuildCounter().Name("cardperso_ads_session_refusals_total").Help("Failed sessions by the protocol error that ended them").Register(registry);
  pm::Family<pm::Counter>& lockouts =
      pm::BuildCounter().Name("cardperso_ads_retailer_lockouts_total").Help("Retailer cards locked after repeated failed authentications").Register(registry);
  pm::Family<pm::Histogram>& handshake =
      pm::BuildHistogram().Name("cardperso_ads_handshake_seconds").Help("From a session's first frame to its established keys").Register(registry);
  pm::Family<pm::Histogram>& card =
      pm::BuildHistogram().Name("cardperso_ads_card_seconds").Help("From a card's script being prepared to its recorded outcome, by outcome").Register(registry);
  pm::Family<pm::Histogram>& flush_batch =
      pm::BuildHistogram().Name("cardperso_ads_group_commit_batch_groups").Help("Commit groups made durable by one WAL flush").Register(registry);
  pm::Family<pm::Histogram>& fsync =
      pm::BuildHistogram().Name("cardperso_ads_fsync_seconds").Help("Time of one WAL flush (fdatasync)").Register(registry);
  pm::Family<pm::Gauge>& cards =
      pm::BuildGauge().Name("cardperso_ads_cards").Help("Stock cards by state").Register(registry);
  pm::Family<pm::Gauge>& pool_left =
      pm::BuildGauge().Name("cardperso_ads_number_pool_remaining").Help("Numbers a pool can still hand out (never used or released)").Register(registry);
  pm::Family<pm::Gauge>& hlr_waiting =
      pm::BuildGauge().Name("cardperso_ads_hlr_jobs_waiting").Help("HLR provisioning jobs not delivered yet").Register(registry);
  pm::Family<pm::Gauge>& hlr_oldest =
      pm::BuildGauge().Name("cardperso_ads_hlr_oldest_waiting_seconds").Help("Age of the oldest undelivered HLR job (0: none)").Register(registry);
  pm::Family<pm::Counter>& hlr_deliveries =
      pm::BuildCounter().Name("cardperso_ads_hlr_deliveries_total").Help("HLR delivery attempts by result (delivered, refused, unreachable)").Register(registry);
};

Result<std::unique_ptr<AdsMetrics>> AdsMetrics::start(const net::Endpoint& listen) {
  auto exporter = metrics::Exporter::start(listen, "ads-server");
  if (!exporter) return exporter.error();
  std::unique_ptr<AdsMetrics> m(new AdsMetrics());
  m->exporter_ = std::move(exporter).value();
  m->f_ = std::make_unique<Families>(m->exporter_->registry());
  m->f_->sessions_established.Add({});
  for (const char* outcome : {"completed", "failed", "aborted"}) m->f_->sessions_ended.Add({{"outcome", outcome}});
  m->f_->lockouts.Add({});
  m->f_->handshake.Add({}, kSecondsBuckets);
  for (const char* result : {"delivered", "refused", "unreachable"}) m->f_->hlr_deliveries.Add({{"result", result}});
  return m;
}

AdsMetrics::~AdsMetrics() = default;

void AdsMetrics::established(std::chrono::duration<double> handshake) {
  f_->sessions_established.Add({}).Increment();
  f_->handshake.Add({}, kSecondsBuckets).Observe(handshake.count());
}

void AdsMetrics::ended(SessionOutcome outcome) {
  f_->sessions_ended.Add({{"outcome", std::string(to_string(outcome))}}).Increment();
}

void AdsMetrics::refused(proto::ErrorCode code) {
  f_->refusals.Add({{"reason", std::string(proto::describe(code))}}).Increment();
}

void AdsMetrics::retailer_locked() { f_->lockouts.Add({}).Increment(); }

void AdsMetrics::card_done(std::string_view outcome, std::chrono::duration<double> took) {
  f_->card.Add({{"outcome", std::string(outcome)}}, kSecondsBuckets).Observe(took.count());
}

void AdsMetrics::flushed(std::uint64_t groups, std::chrono::duration<double> took) {
  f_->flush_batch.Add({}, kBatchBuckets).Observe(static_cast<double>(groups));
  f_->fsync.Add({}, kSecondsBuckets).Observe(took.count());
}

void AdsMetrics::refresh(Database& db, const hlr::Provisioner* provisioner) {
  auto states = db.read_rows("SELECT state, count(*) FROM cards GROUP BY state", "metrics: cards by state",
                             [](const Statement& s) { return std::pair{s.column_text(0), s.column_int(1)}; });
  if (states) {
    for (const char* state : {"blank", "in_progress", "personalised", "failed", "spoiled"}) {
      std::int64_t n = 0;
      for (const auto& [name, count] : *states)
        if (name == state) n = count;
      f_->cards.Add({{"state", state}}).Set(static_cast<double>(n));
    }
  } else {
    spdlog::warn("metrics: {}", states.error().message);
  }
  auto pools = db.read_rows(
      "SELECT p.id, p.kind, p.last + 1 - p.next + (SELECT count(*) FROM number_allocations a WHERE a.pool_id = p.id "
      "AND a.state = 'released') FROM number_pools p",
      "metrics: numbers left",
      [](const Statement& s) { return std::tuple{s.column_int(0), s.column_text(1), s.column_int(2)}; });
  if (pools) {
    for (const auto& [id, kind, left] : *pools)
      f_->pool_left.Add({{"kind", kind}, {"pool", std::to_string(id)}}).Set(static_cast<double>(left));
  }
  auto backlog = db.first_row(
      "SELECT count(*), min(created_at) FROM hlr_jobs WHERE delivered_at IS NULL", "metrics: HLR backlog");
  if (backlog && *backlog) {
    const auto oldest = (*backlog)->column_optional_int(1);
    f_->hlr_waiting.Add({}).Set(static_cast<double>((*backlog)->column_int(0)));
    f_->hlr_oldest.Add({}).Set(oldest ? static_cast<double>(std::max<std::int64_t>(0, to_unix(system_now()) - *oldest))
                                      : 0.0);
  }
  if (provisioner != nullptr) {
    const auto& c = provisioner->counters();
    advance(f_->hlr_deliveries.Add({{"result", "delivered"}}), c.delivered);
    advance(f_->hlr_deliveries.Add({{"result", "refused"}}), c.refused);
    advance(f_->hlr_deliveries.Add({{"result", "unreachable"}}), c.link_failures);
  }
}

namespace {

asio::awaitable<void> refresh_loop(AdsMetrics* metrics, std::chrono::milliseconds period, Database* db,
                                   std::shared_ptr<hlr::Provisioner> provisioner,
                                   std::shared_ptr<net::StopSignal> stop) {
  while (!stop->requested()) {
    metrics->refresh(*db, provisioner.get());
    co_await net::sleep_unless_stopped(period, stop);
  }
}

}  // namespace

void AdsMetrics::refresh_every(asio::any_io_executor executor, std::chrono::milliseconds period, Database& db,
                               std::shared_ptr<hlr::Provisioner> provisioner, std::shared_ptr<net::StopSignal> stop) {
  asio::co_spawn(executor, refresh_loop(this, period, &db, std::move(provisioner), std::move(stop)), asio::detached);
}

}  // namespace cardperso::ads
