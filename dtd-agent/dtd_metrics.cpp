#include "dtd_metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <string>

namespace cardperso::dtd {

namespace pm = prometheus;

namespace {

// From the request reaching the ADS to its outcome: the clerk's check on the terminal and the card's
// script are in it, so seconds to minutes; a refusal by the policy comes back in milliseconds.
const pm::Histogram::BucketBoundaries kRequestBuckets = {0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300};

constexpr RequestOutcome kOutcomes[] = {RequestOutcome::Personalised, RequestOutcome::Modified,
                                        RequestOutcome::Refused, RequestOutcome::Failed};

const char* direction_label(RelayDirection direction) {
  return direction == RelayDirection::SteToAds ? "ste_to_ads" : "ads_to_ste";
}

double level(bool on) { return on ? 1.0 : 0.0; }

}  // namespace

// Built on the exporter's registry, which owns them (these are references into it).
struct DtdMetrics::Families {
  explicit Families(pm::Registry& r) : registry(r) {}
  pm::Registry& registry;
  pm::Gauge& ads_link_up = pm::BuildGauge().Name("cardperso_dtd_ads_link_up")
      .Help("1 while the link to the ADS is connected and past its LinkHello").Register(registry).Add({});
  pm::Counter& ads_attempts = pm::BuildCounter().Name("cardperso_dtd_ads_connection_attempts_total")
      .Help("Attempts to open the ADS link (TCP connect and LinkHello)").Register(registry).Add({});
  pm::Counter& ads_failures = pm::BuildCounter().Name("cardperso_dtd_ads_connection_failures_total")
      .Help("Attempts to open the ADS link that failed (each is retried after a backoff)").Register(registry).Add({});
  pm::Gauge& ste_link_up = pm::BuildGauge().Name("cardperso_dtd_ste_link_up")
      .Help("1 while a terminal (STE) is connected").Register(registry).Add({});
  pm::Gauge& signed_on = pm::BuildGauge().Name("cardperso_dtd_retailer_signed_on")
      .Help("1 while a retailer session is established (the DTD holds its channel key)").Register(registry).Add({});
  pm::Counter& sessions = pm::BuildCounter().Name("cardperso_dtd_sessions_relayed_total")
      .Help("Retailer sessions established through this relay").Register(registry).Add({});
  pm::Family<pm::Counter>& served = pm::BuildCounter().Name("cardperso_dtd_requests_served_total")
      .Help("Customer requests ended, by outcome (personalised, modified, refused, failed)").Register(registry);
  pm::Gauge& waiting = pm::BuildGauge().Name("cardperso_dtd_requests_waiting")
      .Help("Customer requests queued or in progress, without an outcome yet").Register(registry).Add({});
  pm::Family<pm::Histogram>& request_seconds = pm::BuildHistogram().Name("cardperso_dtd_request_seconds")
      .Help("From a customer request sent to the ADS to its outcome, by outcome").Register(registry);
  pm::Family<pm::Counter>& frames = pm::BuildCounter().Name("cardperso_dtd_frames_relayed_total")
      .Help("Channel-1 frames passed on unchanged, by direction (ste_to_ads, ads_to_ste)").Register(registry);
  pm::Counter& failovers = pm::BuildCounter().Name("cardperso_dtd_ads_failovers_total")
      .Help("ADS links opened on another --ads address because a more preferred one did not answer")
      .Register(registry).Add({});
  pm::Counter& failbacks = pm::BuildCounter().Name("cardperso_dtd_ads_failbacks_total")
      .Help("Idle ADS links moved back to a more preferred --ads address that answered again")
      .Register(registry).Add({});
  // Info-style: 1 on the address in use (index 0 = the most preferred --ads address), 0 on those used before.
  pm::Family<pm::Gauge>& ads_address = pm::BuildGauge().Name("cardperso_dtd_ads_address")
      .Help("1 for the --ads address the link uses (index: its place in the list, 0 = most preferred)")
      .Register(registry);
  pm::Gauge* ads_in_use = nullptr;
};

Result<std::unique_ptr<DtdMetrics>> DtdMetrics::start(const net::Endpoint& listen) {
  auto exporter = metrics::Exporter::start(listen, "dtd-agent");
  if (!exporter) return exporter.error();
  std::unique_ptr<DtdMetrics> m(new DtdMetrics());
  m->exporter_ = std::move(exporter).value();
  m->f_ = std::make_unique<Families>(m->exporter_->registry());
  // Every series of a fixed label set from the start, at 0: a rate over a missing series is no rate.
  for (const auto outcome : kOutcomes) m->f_->served.Add({{"outcome", std::string(to_string(outcome))}});
  for (const auto direction : {RelayDirection::SteToAds, RelayDirection::AdsToSte})
    m->f_->frames.Add({{"direction", direction_label(direction)}});
  return m;
}

DtdMetrics::~DtdMetrics() = default;

void DtdMetrics::ads_connect_attempt(bool connected) {
  f_->ads_attempts.Increment();
  if (!connected) f_->ads_failures.Increment();
}

void DtdMetrics::session_relayed() { f_->sessions.Increment(); }

void DtdMetrics::frame_relayed(RelayDirection direction) {
  f_->frames.Add({{"direction", direction_label(direction)}}).Increment();
}

void DtdMetrics::request_served(RequestOutcome outcome, std::optional<std::chrono::duration<double>> took) {
  const std::string label(to_string(outcome));
  f_->served.Add({{"outcome", label}}).Increment();
  if (took) f_->request_seconds.Add({{"outcome", label}}, kRequestBuckets).Observe(took->count());
}

void DtdMetrics::ads_linked(std::size_t index, const std::string& address, bool failover, bool failback) {
  if (failover) f_->failovers.Increment();
  if (failback) f_->failbacks.Increment();
  if (f_->ads_in_use != nullptr) f_->ads_in_use->Set(0);
  f_->ads_in_use = &f_->ads_address.Add({{"index", std::to_string(index)}, {"address", address}});
  f_->ads_in_use->Set(1);
}

void DtdMetrics::levels(const RelayLevels& now) {
  f_->ads_link_up.Set(level(now.ads_link_up));
  f_->ste_link_up.Set(level(now.ste_link_up));
  f_->signed_on.Set(level(now.retailer_signed_on));
  f_->waiting.Set(static_cast<double>(now.requests_waiting));
}

}  // namespace cardperso::dtd
