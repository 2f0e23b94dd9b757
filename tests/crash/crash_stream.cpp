#include "crash_stream.hpp"

#include <signal.h>

#include <algorithm>
#include <deque>
#include <memory>
#include <optional>
#include <random>

#include <fmt/format.h>

#include "cardperso/cardsim/card_builders.hpp"
#include "cardperso/dtd/ads_link.hpp"
#include "cardperso/net/framed_stream.hpp"
#include "cardperso/testing/listening_child.hpp"
#include "fixture.hpp"
#include "shop_session.hpp"

namespace cardperso::crash {
namespace {

namespace asio = net::asio;
using Clock = std::chrono::steady_clock;
using proto::MessageType;

constexpr std::size_t kKeptErrors = 12;
constexpr auto kServerReady = std::chrono::seconds(30);
constexpr auto kReconnectPause = std::chrono::milliseconds(20);
constexpr int kMaxConnectFailures = 1500;  // 30 s of refused connections in a row: the server is gone

struct Shop {
  std::size_t index = 0;
  cardsim::SimCard retailer;
  proto::DtdRelay dtd;
  std::optional<net::FramedStream> link;
  std::size_t link_server = 0;  // State::server_starts when the link was opened
  std::size_t linked_to = 0;    // which server the link goes to
  std::size_t preferred = 0;    // index % servers
  const ShopStock* stock = nullptr;
  std::uint64_t next_serial = 0, end_serial = 0;
  std::deque<std::string> retry;  // cards a kill interrupted, to be inserted once more
  std::size_t sessions = 0, final_sessions = 0;
  Phase phase = Phase::Connect;
  Shop(const ShopStock& s, std::size_t i)
      : index(i), retailer(s.retailer_card), stock(&s), next_serial(s.first_serial),
        end_serial(s.first_serial + s.blank_cards) {}
};

struct State {
  const StreamPlan* plan = nullptr;
  std::vector<std::unique_ptr<Shop>> shops;
  StreamReport report;
  std::mt19937_64 kill_rng, script_rng;
  std::optional<testing::ListeningChild> server;  // the one that is killed
  net::Endpoint ads;
  std::vector<testing::ListeningChild> others;  // with several servers: never killed
  std::vector<net::Endpoint> addresses;         // of every server, the killed one first
  bool kills_over = false;
  std::size_t server_starts = 0;  // a link opened before the last start goes to a dead server
  std::size_t shops_running = 0;
  Clock::time_point t0;

  void error(const std::string& kind, const std::string& what) {
    ++report.errors[kind];
    if (report.first_errors.size() < kKeptErrors) report.first_errors.push_back(what);
  }
  bool stopping() const { return !report.fatal.empty(); }
};

std::vector<std::string> server_argv(const StreamPlan& plan, const std::string& listen = "127.0.0.1:0") {
  auto argv = plan.server_argv;
  argv.insert(argv.end(), {"--listen", listen});
  return argv;
}

asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  timer.expires_after(d);
  boost::system::error_code ignored;
  co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
}

std::chrono::milliseconds draw(std::mt19937_64& rng, std::chrono::milliseconds lo, std::chrono::milliseconds hi) {
  std::uniform_int_distribution<long> d(lo.count(), std::max(lo.count(), hi.count()));
  return std::chrono::milliseconds(d(rng));
}

// The phase a burst written to the ADS starts.
Phase phase_after_sending(MessageType type, Phase current) {
  switch (type) {
    case MessageType::H1:
    case MessageType::H3: return Phase::Handshake;
    case MessageType::CustomerDetails: return Phase::Customer;
    case MessageType::CardInserted:
    case MessageType::CardCheckAnswer: return Phase::Card;
    case MessageType::ScriptResult: return Phase::Result;
    case MessageType::Terminate: return Phase::Terminate;
    default: return current;
  }
}

// The phase a frame read from the ADS starts.
Phase phase_after_receiving(MessageType type, Phase current) {
  switch (type) {
    case MessageType::Script: return Phase::Script;
    case MessageType::Done: return Phase::Receipt;
    case MessageType::Receipt: return Phase::Between;
    default: return current;
  }
}

std::optional<cardsim::SimCard> next_card(State& st, Shop& shop, bool final, std::vector<std::string>& handed) {
  if (!final && !shop.retry.empty()) {
    const std::string iccid = shop.retry.front();
    shop.retry.pop_front();
    auto it = st.report.cards.find(iccid);
    if (it != st.report.cards.end()) {
      cardsim::SimCard card = std::move(it->second);
      st.report.cards.erase(it);
      st.report.retried.insert(iccid);
      handed.push_back(iccid);
      return card;
    }
  }
  if (shop.next_serial >= shop.end_serial) return std::nullopt;
  const std::string iccid = bench::batch_iccid(shop.stock->iccid_prefix, shop.next_serial++);
  handed.push_back(iccid);
  return cardsim::SimCard(cardsim::make_stock_sim(iccid, st.plan->batch_secret.view()));
}

struct SessionOutcome {
  bool ok = false;
  std::string kind, error;
};

// One session on the shop's link, as bench/loadgen runs it, noting the phase at every step.
asio::awaitable<SessionOutcome> run_session(std::shared_ptr<State> st, Shop* shop, bool final) {
  const StreamPlan& plan = *st->plan;
  SessionOutcome r;
  std::vector<std::string> handed;
  std::size_t kept = 0;
  bench::SessionPlan sp;
  sp.cards = plan.cards_per_session;
  sp.retailer_pin = shop->stock->retailer_pin;
  sp.customer_tag = fmt::format("{}-{}", shop->index + 1, ++shop->sessions);
  std::size_t cards_done = 0;
  {
    State* s = st.get();
    bench::ShopSession session(sp, shop->retailer, shop->dtd,
                               [s, shop, final, &handed] { return next_card(*s, *shop, final, handed); });
    // Cards come back in the order they went in.
    session.keep_cards([s, &handed, &kept](cardsim::SimCard card) {
      s->report.cards.insert_or_assign(handed.at(kept++), std::move(card));
    });
    net::FramedStream& link = *shop->link;
    shop->phase = Phase::Handshake;
    session.start(proto::Clock::now());
    while (!session.failed() && !st->stopping()) {
      auto& out = session.out();
      if (!out.empty()) {
        const auto type = proto::to_message_type(out.front().header.type).value_or(MessageType::Error);
        if (type == MessageType::ScriptResult) {
          // The card took its script at once; a real one takes a while, during which the ADS waits.
          shop->phase = Phase::Script;
          co_await sleep_for(draw(st->script_rng, std::chrono::milliseconds(0), plan.script_time_max));
        }
        shop->phase = phase_after_sending(type, shop->phase);
        for (const auto& f : out) {
          auto written = co_await link.write_frame(f.header, f.payload);
          if (!written) {
            r.kind = "io";
            r.error = "write: " + written.error().message;
            break;
          }
        }
        out.clear();
        if (!r.error.empty()) break;
      }
      if (session.finished()) break;
      auto frame = co_await link.read_frame(plan.reply_timeout);
      if (!frame) {
        r.kind = frame.failure() == net::ReadFailure::Timeout ? "timeout" : "io";
        r.error = "read: " + frame.error().message;
        break;
      }
      const auto type = proto::to_message_type(frame->header.type).value_or(MessageType::Error);
      if (frame->header.channel == proto::Channel::LinkControl && type == MessageType::Keepalive) continue;
      shop->phase = phase_after_receiving(type, shop->phase);
      session.on_ads_frame(std::move(*frame), proto::Clock::now());
    }
    if (st->stopping() && r.error.empty() && !session.finished()) {
      r.kind = "stopped";
      r.error = "the run was stopped";
    }
    if (session.failed() && r.error.empty()) {
      r.kind = session.error_kind();
      r.error = *session.error();
    }
    cards_done = session.cards_done();
  }  // the session hands its last card back here
  shop->phase = Phase::Between;
  r.ok = r.error.empty();
  for (std::size_t i = 0; i < handed.size(); ++i) {
    if (i < cards_done) {
      st->report.completed.insert(handed[i]);
      continue;
    }
    st->report.interrupted.insert(handed[i]);
    if (!final && st->report.retried.count(handed[i]) == 0) shop->retry.push_back(handed[i]);
  }
  if (!r.ok) {
    if (shop->link) shop->link->close();
    shop->link.reset();
    shop->dtd = proto::DtdRelay{};
  }
  co_return r;
}

asio::awaitable<Result<net::FramedStream>> open_link(net::Endpoint ads, std::string name) {
  dtd::AdsLinkOptions o;
  o.ads = std::move(ads);
  o.dtd_id = std::move(name);
  o.connect_timeout = std::chrono::milliseconds(2'000);
  o.hello_timeout = std::chrono::milliseconds(5'000);
  co_return co_await dtd::open_ads_link(o);
}

asio::awaitable<void> shop_loop(std::shared_ptr<State> st, std::size_t index) {
  Shop& shop = *st->shops[index];
  const StreamPlan& plan = *st->plan;
  int connect_failures = 0;
  while (!st->stopping()) {
    if (st->kills_over && shop.final_sessions >= plan.final_sessions) break;
    // A link to a server killed since (the shop has not read from it yet): the session after the last
    // kill must run against the server left alone, so drop it and reconnect.
    if (shop.link && shop.linked_to == 0 && shop.link_server != st->server_starts) {
      shop.link->close();
      shop.link.reset();
      shop.dtd = proto::DtdRelay{};
    }
    if (!shop.link) {
      shop.phase = Phase::Connect;
      // The preferred server first, then the others in order (one server: just it).
      const std::size_t n = st->addresses.empty() ? 1 : st->addresses.size();
      Result<net::FramedStream> opened = fail("not tried");
      std::size_t to = shop.preferred;
      for (std::size_t k = 0; k < n; ++k) {
        to = (shop.preferred + k) % n;
        opened = co_await open_link(n == 1 ? st->ads : st->addresses[to], fmt::format("crash-shop-{}", index + 1));
        if (opened) break;
      }
      if (opened && n > 1) {
        if (to != shop.preferred) ++st->report.failovers[index];
        if (to == shop.preferred && shop.linked_to != shop.preferred) ++st->report.failbacks[index];
      }
      shop.linked_to = to;
      if (!opened) {
        if (++connect_failures >= kMaxConnectFailures) {
          st->report.fatal = fmt::format("shop {} cannot reach the ADS: {}", index + 1, opened.error().message);
          break;
        }
        co_await sleep_for(kReconnectPause);
        continue;
      }
      connect_failures = 0;
      shop.link.emplace(std::move(*opened));
      shop.link_server = st->server_starts;
    }
    if (shop.end_serial - shop.next_serial < plan.cards_per_session) {
      st->report.final_errors.push_back(fmt::format("shop {} ran out of blank cards", index + 1));
      break;
    }
    const bool final = st->kills_over;
    auto r = co_await run_session(st, &shop, final);
    if (final) ++shop.final_sessions;
    if (r.ok) {
      ++st->report.sessions_ok;
      if (!st->report.sessions_by_server.empty()) ++st->report.sessions_by_server[shop.linked_to];
      if (final) ++st->report.final_sessions_ok;
      // Between sessions a shop on another server than its preferred one goes back to it (the next
      // connect tries the preferred one first; when it is still down the shop stays where it was).
      if (st->addresses.size() > 1 && shop.linked_to != shop.preferred && shop.link) {
        shop.link->close();
        shop.link.reset();
        shop.dtd = proto::DtdRelay{};
      }
      co_await sleep_for(plan.session_pause);
      continue;
    }
    ++st->report.sessions_broken;
    st->error(r.kind, fmt::format("shop {}: {}", index + 1, r.error));
    if (final) st->report.final_errors.push_back(fmt::format("shop {}: {}", index + 1, r.error));
  }
  if (shop.link) shop.link->close();
  shop.phase = Phase::Between;
  --st->shops_running;
}

// SIGKILL and reap.
Result<void> kill_server(State& st) {
  ::kill(st.server->pid(), SIGKILL);
  auto stopped = st.server->stop();  // reaps it; reports the signal as an abnormal end
  if (stopped) return fail("ads-server survived SIGKILL");
  if (stopped.error().message.find("signal") == std::string::npos)
    return fail("ads-server ended otherwise than by the signal: " + stopped.error().message);
  st.server.reset();
  return {};
}

// Start the killed server again on the same database.
Result<void> restart_server(State& st, Clock::time_point killed_at) {
  // With several servers the killed one comes back on its address (the shops know it by that).
  auto started = testing::ListeningChild::start(
      server_argv(*st.plan, st.addresses.empty() ? "127.0.0.1:0" : st.addresses[0].to_string()), kServerReady);
  if (!started) return fail("ads-server did not start again: " + started.error().message);
  st.ads = started->endpoint();
  st.server.emplace(std::move(*started));
  ++st.server_starts;
  st.report.restart_seconds += std::chrono::duration<double>(Clock::now() - killed_at).count();
  return {};
}

// One server: SIGKILL, reap, start again, blocking the io_context on purpose: the shops cannot do
// anything useful while there is no server, and their phases stay as they were.
Result<void> kill_and_restart(State& st) {
  const auto killed_at = Clock::now();
  if (auto killed = kill_server(st); !killed) return killed;
  return restart_server(st, killed_at);
}

asio::awaitable<void> killer(std::shared_ptr<State> st) {
  const StreamPlan& plan = *st->plan;
  while (st->report.kills.size() < plan.kills && !st->stopping()) {
    co_await sleep_for(draw(st->kill_rng, plan.kill_after_min, plan.kill_after_max));
    if (st->shops_running == 0) {
      st->report.fatal = "every shop stopped before the last kill";
      break;
    }
    Kill k;
    k.at_seconds = std::chrono::duration<double>(Clock::now() - st->t0).count();
    for (const auto& shop : st->shops) k.shops.push_back(shop->phase);
    st->report.kills.push_back(std::move(k));
    if (st->addresses.size() <= 1) {
      if (auto r = kill_and_restart(*st); !r) st->report.fatal = r.error().message;
      continue;
    }
    // Several servers: the killed one stays down for a while, during which its shops fail over.
    const auto killed_at = Clock::now();
    if (auto r = kill_server(*st); !r) {
      st->report.fatal = r.error().message;
      break;
    }
    co_await sleep_for(draw(st->kill_rng, std::chrono::milliseconds(100), std::chrono::milliseconds(400)));
    if (auto r = restart_server(*st, killed_at); !r) st->report.fatal = r.error().message;
  }
  st->kills_over = true;
  while (st->shops_running > 0) co_await sleep_for(std::chrono::milliseconds(20));
  if (st->server) {
    auto stopped = st->server->stop();
    st->report.server_stopped_cleanly = stopped.ok();
    if (!stopped) st->report.server_stop_error = stopped.error().message;
    st->server.reset();
  }
  for (auto& other : st->others) {
    auto stopped = other.stop();
    if (!stopped) {
      st->report.server_stopped_cleanly = false;
      st->report.server_stop_error += " another server: " + stopped.error().message;
    }
  }
  st->others.clear();
}

}  // namespace

std::string_view name(Phase phase) {
  switch (phase) {
    case Phase::Connect: return "connect";
    case Phase::Handshake: return "handshake";
    case Phase::Customer: return "C1/C2";
    case Phase::Card: return "P1/P2";
    case Phase::Script: return "script running";
    case Phase::Result: return "P3/P4";
    case Phase::Receipt: return "receipt";
    case Phase::Terminate: return "terminate";
    case Phase::Between: return "between messages";
  }
  return "?";
}

StreamReport run_crash_stream(const StreamPlan& plan) {
  // Before the state: the shops' links hold timers of this io_context and must go first.
  asio::io_context io(1);
  auto st = std::make_shared<State>();
  st->plan = &plan;
  st->kill_rng.seed(plan.seed);
  st->script_rng.seed(plan.seed ^ 0x5c41f7d3u);
  for (std::size_t i = 0; i < plan.shops.size(); ++i) st->shops.push_back(std::make_unique<Shop>(plan.shops[i], i));
  st->t0 = Clock::now();
  auto started = testing::ListeningChild::start(server_argv(plan), kServerReady);
  if (!started) {
    st->report.fatal = "ads-server did not start: " + started.error().message;
    return std::move(st->report);
  }
  st->ads = started->endpoint();
  st->server.emplace(std::move(*started));
  if (plan.servers > 1) {
    st->addresses.push_back(st->ads);
    for (std::size_t i = 1; i < plan.servers; ++i) {
      auto other = testing::ListeningChild::start(server_argv(plan), kServerReady);
      if (!other) {
        st->report.fatal = "another ads-server did not start: " + other.error().message;
        return std::move(st->report);
      }
      st->addresses.push_back(other->endpoint());
      st->others.push_back(std::move(*other));
    }
    st->report.failovers.assign(st->shops.size(), 0);
    st->report.failbacks.assign(st->shops.size(), 0);
    st->report.sessions_by_server.assign(plan.servers, 0);
    for (auto& shop : st->shops) shop->preferred = shop->linked_to = shop->index % plan.servers;
  }

  st->shops_running = st->shops.size();
  for (std::size_t i = 0; i < st->shops.size(); ++i) asio::co_spawn(io, shop_loop(st, i), asio::detached);
  asio::co_spawn(io, killer(st), asio::detached);
  io.run();
  st->report.seconds = std::chrono::duration<double>(Clock::now() - st->t0).count();
  return std::move(st->report);
}

}  // namespace cardperso::crash
