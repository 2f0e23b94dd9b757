#include "load_run.hpp"

#include <unistd.h>

#include <cstdio>
#include <memory>

#include <fmt/format.h>

#include "cardperso/cardsim/card_builders.hpp"
#include "cardperso/cardsim/sim_card.hpp"
#include "cardperso/dtd/ads_failover.hpp"
#include "cardperso/dtd/ads_link.hpp"
#include "cardperso/net/framed_stream.hpp"
#include "fixture.hpp"
#include "shop_session.hpp"

namespace cardperso::bench {
namespace {

namespace asio = net::asio;
using Clock = std::chrono::steady_clock;
using proto::MessageType;

constexpr std::size_t kKeptErrors = 8;
constexpr std::size_t kParallelConnects = 32;

struct Shop {
  std::size_t index = 0;
  cardsim::SimCard retailer;
  proto::DtdRelay dtd;
  std::optional<net::FramedStream> link;
  dtd::AdsFailover failover;  // which of the plan's ADS addresses the next link goes to
  std::optional<std::size_t> linked_ads;  // index into LoadPlan::ads of the latest link
  const ShopSetup* setup = nullptr;
  std::uint64_t next_serial = 0;
  std::uint64_t end_serial = 0;
  std::size_t sessions = 0;
  Shop(const ShopSetup& s, std::size_t i, dtd::AdsFailoverOptions addresses)
      : index(i), retailer(s.retailer_card), failover(std::move(addresses)), setup(&s), next_serial(s.first_serial),
        end_serial(s.first_serial + s.blank_cards) {}
};

// Shop i's addresses in its order of preference: ads[i % n], ads[i % n + 1], ... wrapping around.
dtd::AdsFailoverOptions shop_addresses(const LoadPlan& plan, std::size_t shop) {
  dtd::AdsFailoverOptions o;
  const std::size_t n = plan.ads.size();
  for (std::size_t k = 0; k < n; ++k) o.addresses.push_back(plan.ads[(shop % n + k) % n]);
  o.failback_every = std::chrono::milliseconds(0);  // a shop's link moves only when it drops
  return o;
}

struct SessionResult {
  bool ok = false;
  std::string error_kind, error;
  Clock::time_point started, finished;
  std::optional<Clock::time_point> established;
  std::vector<std::pair<Clock::time_point, Clock::time_point>> cards;
  std::vector<std::chrono::nanoseconds> round_trip_times;
  std::vector<ExchangeBytes> exchanges;
  RoundTripCounts counts;
  std::size_t cards_done = 0;
  std::size_t customer_apdus = 0;
};

struct LoadState {
  const LoadPlan* plan = nullptr;
  std::vector<std::unique_ptr<Shop>> shops;
  LoadReport report;
  Clock::time_point run_started, measure_from, measure_until;
  bool measuring = false, ended = false, stop = false;
  std::size_t running = 0;       // shop coroutines alive
  std::size_t opening = 0;       // links being opened by the starter
  std::size_t done_total = 0;    // sessions finished, counted or not (progress)
  std::size_t failed_total = 0;
  std::string name_prefix = "loadgen-shop-";

  void error(const std::string& kind, const std::string& what) {
    ++report.errors[kind];
    if (report.first_errors.size() < kKeptErrors) report.first_errors.push_back(what);
  }
};

Snapshot snapshot(pid_t server) {
  Snapshot s;
  if (auto r = read_process_stats(server)) s.server = *r;
  if (auto r = read_process_stats(getpid())) s.client = *r;
  return s;
}

void begin_measuring(LoadState& st) {
  st.measuring = true;
  st.measure_from = Clock::now();
  st.report.before = snapshot(st.plan->server_pid);
}

void end_measuring(LoadState& st) {
  if (st.ended) return;
  st.ended = true;
  st.stop = true;
  st.measure_until = Clock::now();
  st.report.after = snapshot(st.plan->server_pid);
  st.report.seconds = std::chrono::duration<double>(st.measure_until - st.measure_from).count();
}

RoundTripCounts& operator+=(RoundTripCounts& a, const RoundTripCounts& b) {
  a.handshake += b.handshake;
  a.customer += b.customer;
  a.card += b.card;
  a.terminate += b.terminate;
  a.other += b.other;
  return a;
}

bool operator==(const RoundTripCounts& a, const RoundTripCounts& b) {
  return a.handshake == b.handshake && a.customer == b.customer && a.card == b.card && a.terminate == b.terminate &&
         a.other == b.other;
}

std::size_t& phase_of(RoundTripCounts& c, std::uint8_t first_type) {
  switch (proto::to_message_type(first_type).value_or(MessageType::Error)) {
    case MessageType::H1:
    case MessageType::H3: return c.handshake;
    case MessageType::CustomerDetails: return c.customer;
    case MessageType::CardInserted:
    case MessageType::CardCheckAnswer:
    case MessageType::ScriptResult: return c.card;
    case MessageType::Terminate: return c.terminate;
    default: return c.other;
  }
}

std::string describe_counts(const RoundTripCounts& c) {
  return fmt::format("handshake {}, C1/C2 {}, P1..P4 (with K1/K2) {}, terminate {}, other {}", c.handshake, c.customer, c.card,
                     c.terminate, c.other);
}

BlankCardSource blank_source(const LoadPlan& plan, Shop& shop) {
  return [&plan, &shop]() -> std::optional<cardsim::SimCard> {
    if (shop.next_serial >= shop.end_serial) return std::nullopt;
    const std::string iccid = batch_iccid(shop.setup->iccid_prefix, shop.next_serial++);
    return cardsim::SimCard(cardsim::make_stock_sim(iccid, plan.batch_secret.view()));
  };
}

asio::awaitable<Result<net::FramedStream>> open_link(net::Endpoint ads, std::string name, std::chrono::milliseconds timeout) {
  dtd::AdsLinkOptions o;
  o.ads = std::move(ads);
  o.dtd_id = std::move(name);
  o.hello_timeout = timeout;
  co_return co_await dtd::open_ads_link(o);
}

// One round over the shop's addresses, from its preferred one: the first that answers its LinkHello.
// Fails (naming every address's reason) when none did; the caller waits before the next round.
asio::awaitable<Result<net::FramedStream>> open_shop_link(const LoadPlan* plan, Shop* shop, std::string name) {
  std::string reasons;
  for (;;) {
    const auto& address = shop->failover.address(shop->failover.next());
    auto opened = co_await open_link(address, name, plan->timeout);
    if (opened) {
      shop->failover.connected(Clock::now());
      const std::size_t n = plan->ads.size();
      shop->linked_ads = (shop->index % n + *shop->failover.linked()) % n;
      co_return opened;
    }
    if (!reasons.empty()) reasons += "; ";
    reasons += address.to_string() + ": " + opened.error().message;
    if (shop->failover.attempt_failed().wait) co_return fail(reasons);
  }
}

// One whole session on the shop's link. The link is closed on any failure (it may be out of step).
asio::awaitable<SessionResult> run_session(const LoadPlan* plan, Shop* shop, std::string tag) {
  SessionResult r;
  SessionPlan sp;
  sp.cards = plan->mode == LoadMode::Personalise ? plan->cards_per_session : 0;
  sp.retailer_pin = shop->setup->retailer_pin;
  sp.customer_tag = std::move(tag);
  ShopSession session(sp, shop->retailer, shop->dtd, blank_source(*plan, *shop));
  net::FramedStream& link = *shop->link;
  r.started = Clock::now();
  session.start(r.started);
  Clock::time_point burst_at{};
  bool awaiting = false;
  while (!session.failed()) {
    auto& out = session.out();
    if (!out.empty()) {
      ExchangeBytes ex;
      ++phase_of(r.counts, out.front().header.type);
      burst_at = Clock::now();
      for (const auto& f : out) {
        ex.request += proto::kHeaderSize + f.payload.size();
        auto written = co_await link.write_frame(f.header, f.payload);
        if (!written) {
          r.error_kind = "io";
          r.error = "write: " + written.error().message;
          break;
        }
      }
      out.clear();
      if (!r.error.empty()) break;
      r.exchanges.push_back(ex);
      awaiting = true;
    }
    if (session.finished()) break;
    auto frame = co_await link.read_frame(plan->timeout);
    const auto now = Clock::now();
    if (!frame) {
      r.error_kind = frame.failure() == net::ReadFailure::Timeout ? "timeout" : "io";
      r.error = "read: " + frame.error().message;
      break;
    }
    if (frame->header.channel == proto::Channel::LinkControl &&
        proto::to_message_type(frame->header.type) == MessageType::Keepalive)
      continue;
    if (awaiting) {
      r.round_trip_times.push_back(now - burst_at);
      awaiting = false;
    }
    if (!r.exchanges.empty()) r.exchanges.back().response += proto::kHeaderSize + frame->payload.size();
    session.on_ads_frame(std::move(*frame), now);
  }
  r.finished = Clock::now();
  r.cards_done = session.cards_done();
  r.cards = session.card_times();
  r.established = session.established_at();
  r.customer_apdus = session.apdus_to_customer_cards();
  if (session.failed() && r.error.empty()) {
    r.error_kind = session.error_kind();
    r.error = *session.error();
  }
  r.ok = r.error.empty();
  if (!r.ok) {
    link.close();
    shop->link.reset();
    shop->failover.link_lost();
    shop->dtd = proto::DtdRelay{};
  }
  co_return r;
}

void account(LoadState& st, Shop& shop, const SessionResult& r) {
  ++st.done_total;
  if (!r.ok) {
    ++st.failed_total;
    if (st.measuring && !st.ended) ++st.report.sessions_failed;
    st.error(r.error_kind, fmt::format("shop {}: {}", shop.index + 1, r.error));
    return;
  }
  const auto expected = expected_round_trips(st.plan->mode == LoadMode::Personalise ? st.plan->cards_per_session : 0);
  if (!(r.counts == expected)) {
    ++st.report.round_trip_mismatches;
    st.error("round-trips", fmt::format("shop {}: round trips {} (expected {})", shop.index + 1,
                                        describe_counts(r.counts), describe_counts(expected)));
  }
  // Throughput counts the sessions that end inside the measured window, whenever they started.
  if (!st.measuring || st.ended) {
    ++st.report.sessions_uncounted;
    return;
  }
  auto& rep = st.report;
  ++rep.sessions_ok;
  rep.cards_ok += r.cards_done;
  rep.customer_apdus += r.customer_apdus;
  rep.round_trips += r.counts;
  rep.session.record(r.finished - r.started);
  if (r.established) rep.handshake.record(*r.established - r.started);
  for (const auto& c : r.cards) rep.card.record(c.second - c.first);
  for (const auto& t : r.round_trip_times) rep.round_trip.record(t);
  if (st.plan->sessions > 0 && rep.sessions_ok >= st.plan->sessions) end_measuring(st);
}

asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  timer.expires_after(d);
  boost::system::error_code ignored;
  co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
}

asio::awaitable<void> shop_loop(std::shared_ptr<LoadState> st, std::size_t index) {
  Shop& shop = *st->shops[index];
  std::size_t connect_failures = 0;
  // Open loop: shop i starts sessions at run_started + (i + k * shops) / rate, so the whole fleet
  // offers `rate` sessions/s evenly spread, whatever the server's latency.
  const bool paced = st->plan->rate > 0;
  const auto period = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(paced ? static_cast<double>(st->shops.size()) / st->plan->rate : 0.0));
  auto planned = st->run_started + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(
                                       paced ? static_cast<double>(index) / st->plan->rate : 0.0));
  while (!st->stop) {
    if (!shop.link) {
      auto opened = co_await open_shop_link(st->plan, &shop, st->name_prefix + std::to_string(index + 1));
      if (!opened) {
        st->error("connect", fmt::format("shop {}: {}", index + 1, opened.error().message));
        if (++connect_failures >= 5) break;
        co_await sleep_for(std::chrono::milliseconds(200));
        continue;
      }
      shop.link.emplace(std::move(*opened));
    }
    if (st->plan->mode == LoadMode::Personalise && shop.end_serial - shop.next_serial < st->plan->cards_per_session)
      break;  // this shop's stock of blank cards is used up
    if (paced) {
      const auto now = Clock::now();
      if (now < planned) {
        co_await sleep_for(std::chrono::ceil<std::chrono::milliseconds>(planned - now));
        if (st->stop) break;
      }
    }
    auto r = co_await run_session(st->plan, &shop, fmt::format("{}-{}", index + 1, ++shop.sessions));
    if (paced) {
      // Latency from the planned start: a late start is the server's delay too (no coordinated omission).
      const auto late = r.started - planned;
      r.started = std::min(r.started, planned);
      if (late > std::chrono::milliseconds(1) && st->measuring && !st->ended) {
        ++st->report.late_starts;
        st->report.worst_late =
            std::max(st->report.worst_late, std::chrono::duration_cast<std::chrono::microseconds>(late));
      }
      planned += period;
    }
    account(*st, shop, r);
  }
  if (shop.link) shop.link->close();
  --st->running;
}

asio::awaitable<void> monitor(std::shared_ptr<LoadState> st) {
  const auto t0 = Clock::now();
  auto next_print = t0 + std::chrono::seconds(1);
  std::size_t last_done = 0;
  auto last_at = t0;
  while (st->running > 0) {
    const auto now = Clock::now();
    if (!st->measuring && now >= st->run_started + st->plan->warmup) begin_measuring(*st);
    if (st->measuring && st->plan->sessions == 0 && now >= st->measure_from + st->plan->duration) end_measuring(*st);
    if (now >= next_print) {
      const double dt = std::chrono::duration<double>(now - last_at).count();
      if (st->plan->progress)
        std::fprintf(stderr, "[%6.1f s] %s: sessions %zu (%.0f/s), counted %zu, errors %zu, shops %zu\n",
                     std::chrono::duration<double>(now - t0).count(),
                     !st->measuring ? "warm-up" : st->ended ? "draining" : "measuring", st->done_total,
                     dt > 0 ? static_cast<double>(st->done_total - last_done) / dt : 0.0, st->report.sessions_ok,
                     st->failed_total, st->running);
      last_done = st->done_total;
      last_at = now;
      next_print += std::chrono::seconds(1);
    }
    co_await sleep_for(std::chrono::milliseconds(20));
  }
  if (!st->ended) end_measuring(*st);  // every shop gave up or ran out of cards
}

// Opens the links a few at a time (10,000 simultaneous SYNs would overflow the listen backlog), then
// starts the shops together.
asio::awaitable<void> open_one(std::shared_ptr<LoadState> st, std::size_t index) {
  auto opened = co_await open_shop_link(st->plan, st->shops[index].get(), st->name_prefix + std::to_string(index + 1));
  if (opened)
    st->shops[index]->link.emplace(std::move(*opened));
  else
    st->error("connect", fmt::format("shop {}: {}", index + 1, opened.error().message));
  --st->opening;
}

asio::awaitable<void> open_all(std::shared_ptr<LoadState> st) {
  auto executor = co_await asio::this_coro::executor;
  const auto t0 = Clock::now();
  std::size_t next = 0;
  while (next < st->shops.size() || st->opening > 0) {
    while (next < st->shops.size() && st->opening < kParallelConnects) {
      ++st->opening;
      asio::co_spawn(executor, open_one(st, next++), asio::detached);
    }
    co_await sleep_for(std::chrono::milliseconds(1));
  }
  st->report.connect_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  for (const auto& s : st->shops) st->report.shops_connected += s->link ? 1 : 0;
}

asio::awaitable<void> run_shops(std::shared_ptr<LoadState> st) {
  co_await open_all(st);
  auto executor = co_await asio::this_coro::executor;
  if (st->plan->mode == LoadMode::Idle) {
    st->report.server_idle_start = snapshot(st->plan->server_pid).server;
    begin_measuring(*st);
    co_await sleep_for(st->plan->hold);
    st->report.server_held = snapshot(st->plan->server_pid).server;
    end_measuring(*st);
    for (auto& s : st->shops)
      if (s->link) s->link->close();
    co_return;
  }
  st->run_started = Clock::now();
  st->running = st->shops.size();
  for (std::size_t i = 0; i < st->shops.size(); ++i) asio::co_spawn(executor, shop_loop(st, i), asio::detached);
  asio::co_spawn(executor, monitor(st), asio::detached);
}

asio::awaitable<void> calibration_run(std::shared_ptr<LoadState> st, std::shared_ptr<Result<Calibration>> out) {
  Shop& shop = *st->shops[0];
  auto opened = co_await open_shop_link(st->plan, &shop, "loadgen-calibration");
  if (!opened) {
    *out = fail("cannot open a link to the ADS: " + opened.error().message);
    co_return;
  }
  shop.link.emplace(std::move(*opened));
  auto r = co_await run_session(st->plan, &shop, "calibration");
  if (shop.link) shop.link->close();
  if (!r.ok) {
    *out = fail("the calibration session failed: " + r.error);
    co_return;
  }
  Calibration c;
  c.exchanges = r.exchanges;
  c.round_trips = r.counts;
  c.customer_apdus = r.customer_apdus;
  *out = std::move(c);
}

std::shared_ptr<LoadState> make_state(const LoadPlan& plan, std::size_t shops) {
  auto st = std::make_shared<LoadState>();
  st->plan = &plan;
  for (std::size_t i = 0; i < shops; ++i)
    st->shops.push_back(std::make_unique<Shop>(plan.shops[i], i, shop_addresses(plan, i)));
  return st;
}

void report_links(LoadState& st) {
  for (const auto& shop : st.shops) {
    ShopLinkReport r;
    r.ads = shop->linked_ads;
    if (r.ads) r.address = st.plan->ads[*r.ads].to_string();
    r.failovers = shop->failover.failovers();
    st.report.failovers += r.failovers;
    st.report.shop_links.push_back(std::move(r));
  }
}

}  // namespace

RoundTripCounts expected_round_trips(std::size_t cards) {
  RoundTripCounts c;
  c.handshake = 2;
  c.customer = cards;
  c.card = 3 * cards;  // P1/K1, K2/P2, P3/P4
  c.terminate = 1;
  return c;
}

// The io_context is declared first so it outlives the state: a shop's link (its socket, its timers)
// must be destroyed while the io_context that owns their services still exists.
Result<Calibration> calibrate(const LoadPlan& plan) {
  asio::io_context io(1);
  auto st = make_state(plan, 1);
  auto out = std::make_shared<Result<Calibration>>(fail("the calibration did not run"));
  asio::co_spawn(io, calibration_run(st, out), asio::detached);
  io.run();
  return std::move(*out);
}

LoadReport run_load(const LoadPlan& plan) {
  asio::io_context io(1);
  auto st = make_state(plan, plan.shops.size());
  const std::size_t expected = plan.sessions > 0 ? plan.sessions : 100'000;
  st->report.session.reserve(expected);
  st->report.round_trip.reserve(expected * expected_round_trips(plan.cards_per_session).total());
  asio::co_spawn(io, run_shops(st), asio::detached);
  io.run();
  report_links(*st);
  return std::move(st->report);
}

}  // namespace cardperso::bench
