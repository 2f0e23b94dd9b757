#pragma once
// The provisioner: delivers the HLR outbox (ads-server/store hlr_outbox.hpp) to the operator's HLR
// through an HlrClient (osmo-hlr: OsmoCtrlClient), in the daemon's io_context. It is woken when a record commits (wake()) and looks again every
// poll interval anyway (jobs queued by `adsctl hlr sync` come from another process).
//
// Failures, two kinds:
//   - the HLR cannot be reached (down, timeout, broken connection): nothing is charged to the cards; the
//     job at the head notes the error, and the provisioner waits (exponential back-off, capped) before
//     it tries the link again. One log line per failed attempt says how large the backlog is.
//   - the HLR refuses one job (its reply says why): that job waits with its own back-off and the
//     later jobs of other cards go on.
// A job is only delivered once the record that queued it is durable (group commit), so the HLR never
// learns of a card that the ADS could still lose in a crash.
#include <chrono>
#include <functional>
#include <memory>

#include "cardperso/ads/hlr/hlr_client.hpp"
#include "cardperso/ads/store/audit_log.hpp"
#include "cardperso/ads/store/group_commit.hpp"
#include "cardperso/ads/store/master_key.hpp"
#include "cardperso/ads/store/sqlite_db.hpp"
#include "cardperso/net/asio.hpp"
#include "cardperso/net/stop_signal.hpp"

namespace cardperso::ads::hlr {

struct ProvisionerOptions {
  std::chrono::milliseconds retry_initial{1'000};    // first back-off after a failure
  std::chrono::milliseconds retry_max{60'000};       // back-off cap
  std::chrono::milliseconds poll{2'000};             // look for jobs from other processes
  double max_rate = 0;                               // jobs per second at most; 0: no limit
};

struct ProvisionerCounters {
  std::uint64_t delivered = 0, refused = 0, link_failures = 0;
};

class Provisioner : public std::enable_shared_from_this<Provisioner> {
 public:
  // db, key and group (null: the database commits on its own, e.g. in tests) must outlive the loop.
  Provisioner(Database& db, const MasterKey& key, GroupCommit* group, std::unique_ptr<HlrClient> client,
              ProvisionerOptions options, std::shared_ptr<net::StopSignal> stop);
  // Spawns the delivery loop on the executor; it ends when the stop signal is requested.
  void start(net::asio::any_io_executor executor);
  // A job was queued: deliver without waiting for the poll. Call on the loop's executor.
  void wake();
  const ProvisionerCounters& counters() const { return counters_; }

 private:
  static net::asio::awaitable<void> loop(std::shared_ptr<Provisioner> self);
  net::asio::awaitable<void> deliver_due();
  net::asio::awaitable<void> wait(std::chrono::milliseconds delay);
  std::chrono::milliseconds job_backoff(int attempts) const;

  struct State;
  Database& db_;
  const MasterKey& key_;
  GroupCommit* group_;
  std::unique_ptr<HlrClient> client_;
  ProvisionerOptions options_;
  std::shared_ptr<net::StopSignal> stop_;
  std::shared_ptr<State> state_;
  ProvisionerCounters counters_;
};

}  // namespace cardperso::ads::hlr
