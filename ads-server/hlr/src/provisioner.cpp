#include "cardperso/ads/hlr/provisioner.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>

#include "cardperso/ads/store/card_records.hpp"
#include "cardperso/ads/store/hlr_outbox.hpp"
#include "cardperso/net/backoff.hpp"

namespace cardperso::ads::hlr {

namespace asio = net::asio;
using std::chrono::milliseconds;
using SteadyTime = std::chrono::steady_clock::time_point;

namespace {

constexpr int kJobsPerPass = 64;
constexpr const char* kActor = "ads-server:hlr";

std::string age_text(std::optional<Seconds> since) {
  if (!since) return "none";
  const auto age = system_now() - *since;
  return std::to_string(std::max<std::int64_t>(0, age.count())) + " s";
}

// The outbox counts in whole seconds: a back-off rounds up, and is at least one second, so a refused job
// is never retried at once.
Seconds retry_time(milliseconds delay) {
  return system_now() + std::max(std::chrono::seconds(1), std::chrono::ceil<std::chrono::seconds>(delay));
}

}  // namespace

struct Provisioner::State {
  State(Database& d, const MasterKey& k, GroupCommit* g, ProvisionerOptions o, std::shared_ptr<net::StopSignal> s,
        const asio::any_io_executor& executor)
      : db(d),
        key(k),
        group(g),
        options(std::move(o)),
        stop(std::move(s)),
        audit(d, k),
        outbox(d, audit, kActor),
        records(d, k, audit, kActor),
        link_backoff(net::BackoffOptions{options.retry_initial, options.retry_max, 0.2}),
        timer(executor) {}
  Database& db;
  const MasterKey& key;
  GroupCommit* group;
  ProvisionerOptions options;
  std::shared_ptr<net::StopSignal> stop;
  AuditLog audit;
  HlrOutbox outbox;
  CardRecords records;
  net::Backoff link_backoff;
  std::optional<SteadyTime> link_retry_at;  // the link failed: not before then
  bool link_was_down = false;
  std::optional<bool> sender;  // several daemons on one database: whether this one sends (last answer)
  bool woken = false;
  asio::steady_timer timer;
  int delivered = 0;  // jobs delivered in the last pass
};

Provisioner::Provisioner(Database& db, const MasterKey& key, GroupCommit* group, std::unique_ptr<HlrClient> client,
                         ProvisionerOptions options, std::shared_ptr<net::StopSignal> stop)
    : db_(db),
      key_(key),
      group_(group),
      client_(std::move(client)),
      options_(std::move(options)),
      stop_(std::move(stop)) {}

void Provisioner::start(asio::any_io_executor executor) {
  state_ = std::make_shared<State>(db_, key_, group_, options_, stop_, executor);
  asio::co_spawn(executor, loop(shared_from_this()), asio::detached);
}

void Provisioner::wake() {
  if (!state_) return;
  state_->woken = true;
  state_->timer.cancel();
}

milliseconds Provisioner::job_backoff(int attempts) const {
  milliseconds delay = options_.retry_initial;
  for (int i = 1; i < attempts && delay < options_.retry_max; ++i) delay *= 2;
  return std::min(delay, options_.retry_max);
}

asio::awaitable<void> Provisioner::wait(milliseconds delay) {
  auto& s = *state_;
  if (s.woken || delay <= milliseconds::zero()) {
    s.woken = false;
    co_return;
  }
  s.timer.expires_after(delay);
  auto subscription = s.stop->subscribe([state = state_] { asio::post(state->timer.get_executor(), [state] {
                                                               state->timer.cancel();
                                                             }); });
  boost::system::error_code ec;
  co_await s.timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  s.woken = false;
}

asio::awaitable<void> Provisioner::loop(std::shared_ptr<Provisioner> self) {
  spdlog::info("HLR provisioning to {}; jobs are kept until delivered", self->client_->describe());
  while (!self->stop_->requested()) {
    co_await self->deliver_due();
    if (self->stop_->requested()) break;
    auto& s = *self->state_;
    milliseconds delay = self->options_.poll;
    const auto now = std::chrono::steady_clock::now();
    if (s.link_retry_at && *s.link_retry_at > now) {
      delay = std::chrono::duration_cast<milliseconds>(*s.link_retry_at - now);
      s.woken = false;  // a new job does not shorten the link's back-off
    } else if (s.delivered > 0) {
      delay = milliseconds::zero();  // progress: more may be due
    } else if (auto next = s.outbox.next_due(); next && *next && **next > system_now()) {
      delay = std::min(delay, std::chrono::duration_cast<milliseconds>(**next - system_now()));
    }
    co_await self->wait(delay);
  }
  self->client_->disconnect();
}

asio::awaitable<void> Provisioner::deliver_due() {
  auto state = state_;  // keeps the state alive across the awaits
  auto& s = *state;
  s.delivered = 0;
  if (s.link_retry_at && *s.link_retry_at > std::chrono::steady_clock::now()) co_return;
  // With several daemons on one database, one of them sends (the others would only deliver the same
  // jobs twice); when it stops, the next daemon to poll takes over.
  auto sender = s.db.hold_role("hlr-outbox");
  if (!sender) {
    spdlog::error("HLR provisioning: cannot tell which daemon sends: {}", sender.error().message);
    co_return;
  }
  if (s.sender != *sender) {
    if (*sender && s.sender.has_value()) spdlog::info("HLR provisioning: this daemon sends the outbox from now on");
    if (!*sender) spdlog::info("HLR provisioning: another ADS daemon sends the outbox; this one stands by");
    s.sender = *sender;
  }
  if (!*sender) co_return;
  auto jobs = s.outbox.due(kJobsPerPass);
  if (!jobs) {
    spdlog::error("HLR provisioning: cannot read the outbox: {}", jobs.error().message);
    co_return;
  }
  if (jobs->empty()) co_return;
  if (s.group != nullptr) {
    // Deliver only what is durable: a record lost in a crash must not reach the HLR.
    GroupCommit::Mark everything = s.group->mark();
    everything.committed = 0;
    if (auto durable = co_await s.group->durable(everything); !durable) {
      spdlog::error("HLR provisioning paused: {}", durable.error().message);
      co_return;
    }
  }
  for (const HlrJob& job : *jobs) {
    if (s.stop->requested()) co_return;
    auto link_failed = [&](const std::string& error) {
      const milliseconds delay = s.link_backoff.next();
      client_->disconnect();
      s.link_retry_at = std::chrono::steady_clock::now() + delay;
      s.link_was_down = true;
      ++counters_.link_failures;
      const auto retry = retry_time(delay);
      if (auto noted = s.outbox.mark_failed(job, error, retry); !noted)
        spdlog::error("HLR provisioning: cannot note the failure of job {}: {}", job.id, noted.error().message);
      auto backlog = s.outbox.backlog();
      spdlog::warn("HLR not reachable: {}; {} jobs waiting (oldest {}), next try in {} ms", error,
                   backlog ? backlog->pending : -1, backlog ? age_text(backlog->oldest_pending_since) : "?",
                   delay.count());
    };
    std::string what = std::string(to_string(job.action)) + " " + job.iccid + " (IMSI " + job.imsi;
    Result<void> delivered;
    if (job.action == HlrAction::Remove) {
      what += ")";
      delivered = co_await client_->remove(job.imsi);
    } else {
      what += ", record version " + std::to_string(job.record_version) + ")";
      auto history = s.records.history(job.iccid);
      auto keys = s.records.keys_of(job.iccid, job.record_version);
      const CardRecordVersion* version = nullptr;
      if (history) {
        for (const auto& v : *history)
          if (v.version == job.record_version) version = &v;
      }
      if (!history || !keys || version == nullptr) {
        const std::string error = !history ? history.error().message
                                  : !keys  ? keys.error().message
                                           : "the record version is missing";
        spdlog::error("HLR job {} ({}) cannot be built: {}", job.id, what, error);
        (void)s.outbox.mark_failed(job, error, retry_time(job_backoff(job.attempts + 1)));
        continue;
      }
      const SubscriberData data{version->imsi, version->msisdn, std::move(keys->ki), std::move(keys->opc)};
      delivered = co_await client_->provision(data);
    }
    if (!delivered && delivered.error().code == Errc::Unavailable) {
      link_failed(delivered.error().message);
      co_return;
    }
    if (s.link_was_down) {
      s.link_was_down = false;
      s.link_retry_at.reset();
      s.link_backoff.reset();
      spdlog::info("HLR reachable again ({})", client_->describe());
    }
    if (!delivered) {
      ++counters_.refused;
      const Seconds retry_at = retry_time(job_backoff(job.attempts + 1));
      spdlog::warn("HLR job {} ({}) refused: {}; retry in {} s", job.id, what, delivered.error().message,
                   (retry_at - system_now()).count());
      if (auto noted = s.outbox.mark_failed(job, delivered.error().message, retry_at); !noted)
        spdlog::error("HLR provisioning: cannot note the failure of job {}: {}", job.id, noted.error().message);
      continue;
    }
    if (auto marked = s.outbox.mark_delivered(job); !marked) {
      // Delivered but not noted: it is delivered again later, which changes nothing in the HLR.
      spdlog::error("HLR job {} delivered but not recorded: {}", job.id, marked.error().message);
      co_return;
    }
    ++counters_.delivered;
    ++s.delivered;
    spdlog::info("HLR: {} done (job {})", what, job.id);
    if (options_.max_rate > 0) {
      co_await wait(milliseconds(static_cast<std::int64_t>(1000.0 / options_.max_rate)));
      s.woken = false;
    }
  }
}

}  // namespace cardperso::ads::hlr
