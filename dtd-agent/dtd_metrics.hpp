#pragma once
// dtd-agent's Prometheus endpoint (--metrics-listen): what the relay reports (RelayMetrics) as
// cardperso_dtd_* metrics on a metrics::Exporter, the one ads-server uses too. The relay reports on
// the io thread; prometheus-cpp's metrics are atomic, so the exporter's threads read them unlocked.
#include <memory>

#include "cardperso/common/result.hpp"
#include "cardperso/dtd/relay_metrics.hpp"
#include "cardperso/metrics/exporter.hpp"
#include "cardperso/net/endpoint.hpp"

namespace cardperso::dtd {

class DtdMetrics final : public RelayMetrics {
 public:
  // Serves GET /metrics on `listen`; fails when the address cannot be bound.
  static Result<std::unique_ptr<DtdMetrics>> start(const net::Endpoint& listen);
  ~DtdMetrics() override;

  // The address actually bound (port 0 picks one).
  const net::Endpoint& endpoint() const { return exporter_->endpoint(); }

  // RelayMetrics
  void ads_connect_attempt(bool connected) override;
  void session_relayed() override;
  void frame_relayed(RelayDirection direction) override;
  void request_served(RequestOutcome outcome, std::optional<std::chrono::duration<double>> took) override;
  void levels(const RelayLevels& now) override;
  void ads_linked(std::size_t index, const std::string& address, bool failover, bool failback) override;

 private:
  struct Families;
  DtdMetrics() = default;
  // Declared first so it is destroyed last: the families live in its registry.
  std::unique_ptr<metrics::Exporter> exporter_;
  std::unique_ptr<Families> f_;
};

}  // namespace cardperso::dtd
