#pragma once
// ads-server's Prometheus endpoint (prometheus-cpp core + pull, Debian's prometheus-cpp 1.0): the
// metric names are in docs/operations.md, "Metrics". Events are counted as they happen (sessions,
// refusals by error code, lockouts, handshake and personalisation latency, group-commit flushes); levels
// that live in the database (cards by state, numbers left per pool, the HLR backlog) are read on the io
// thread every refresh period, so the exporter's own threads never touch the database.
#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "cardperso/ads/hlr/provisioner.hpp"
#include "cardperso/ads/service/session_metrics.hpp"
#include "cardperso/ads/store/group_commit.hpp"
#include "cardperso/ads/store/sqlite_db.hpp"
#include "cardperso/common/result.hpp"
#include "cardperso/metrics/exporter.hpp"
#include "cardperso/net/asio.hpp"
#include "cardperso/net/endpoint.hpp"
#include "cardperso/net/stop_signal.hpp"

namespace cardperso::ads {

class AdsMetrics final : public SessionMetrics {
 public:
  // Serves GET /metrics on `listen` (metrics::Exporter: its own two threads, and the build info). Fails
  // when the address cannot be bound.
  static Result<std::unique_ptr<AdsMetrics>> start(const net::Endpoint& listen);
  ~AdsMetrics() override;

  // The address actually bound (port 0 picks one).
  const net::Endpoint& endpoint() const { return exporter_->endpoint(); }

  // SessionMetrics
  void established(std::chrono::duration<double> handshake) override;
  void ended(SessionOutcome outcome) override;
  void refused(proto::ErrorCode code) override;
  void retailer_locked() override;

  // A card attempt ended (SqlitePersoServices::on_card_done).
  void card_done(std::string_view outcome, std::chrono::duration<double> took);
  // A group-commit flush (GroupCommit::on_flush).
  void flushed(std::uint64_t groups, std::chrono::duration<double> took);

  // Reads the levels every `period` on the caller's executor until `stop`; provisioner may be null.
  void refresh_every(net::asio::any_io_executor executor, std::chrono::milliseconds period, Database& db,
                     std::shared_ptr<hlr::Provisioner> provisioner, std::shared_ptr<net::StopSignal> stop);
  // One refresh now (on the io thread).
  void refresh(Database& db, const hlr::Provisioner* provisioner);

 private:
  struct Families;
  AdsMetrics() = default;
  // Declared first so it is destroyed last: the families live in its registry.
  std::unique_ptr<metrics::Exporter> exporter_;
  std::unique_ptr<Families> f_;
};

}  // namespace cardperso::ads
