#pragma once
// One DTD connection on the ADS: LinkHello/LinkHelloAck on channel 0, keepalives, then any number of
// sessions, each a proto::AdsHandshake keyed by the session id the ADS chose. The coroutine reads
// with a timeout bounded by the next session deadline or keepalive, so every timer is a read
// timeout; it carries out the cores' actions in order (store look-ups, journal, logs, frames).
// A shutdown request (ServerContext::request_stop) interrupts the pending reads; nothing polls.
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>

#include <boost/asio/thread_pool.hpp>

#include "cardperso/ads/net/hello_rate_limiter.hpp"
#include "cardperso/ads/net/retailer_directory.hpp"
#include "cardperso/ads/perso/perso_services.hpp"
#include "cardperso/ads/store/group_commit.hpp"
#include "cardperso/ads/net/session_ids.hpp"
#include "cardperso/net/asio.hpp"
#include "cardperso/net/framed_stream.hpp"
#include "cardperso/proto/actions.hpp"

namespace cardperso::ads {

struct ConnectionOptions {
  proto::Timeouts timeouts;                              // handshake and idle, per session
  std::chrono::milliseconds hello_timeout{10'000};       // from accept until the LinkHello
  std::chrono::milliseconds keepalive_interval{30'000};  // send a Keepalive after this much silence
  std::chrono::milliseconds link_timeout{90'000};        // nothing received this long: the DTD is gone
  std::size_t max_sessions = 16;                         // concurrent sessions on one DTD link
};

// Shared by every connection of one server.
struct ServerContext {
  ServerContext(RetailerDirectory& directory_, SessionJournal& journal_, ConnectionOptions options_ = {})
      : directory(directory_), journal(journal_), options(options_) {}
  RetailerDirectory& directory;
  SessionJournal& journal;
  ConnectionOptions options;
  SessionIds ids;
  proto::RandomSource random = proto::default_random_source();
  // Personalisation (ads-server/perso): null when the server has no card profile; C1/P1/P3 then end
  // the session. An assessment that may block (external command) runs on blocking_pool when given;
  // the connection's coroutine waits for it (its other sessions wait too, at most the command's timeout).
  PersoServices* perso = nullptr;
  net::asio::thread_pool* blocking_pool = nullptr;
  // Hellos per source address (--hello-rate/--hello-burst); null: no limit. Over the limit a
  // connection gets Error Busy on channel 0 and is closed before its LinkHello is even read.
  std::shared_ptr<HelloRateLimiter> hello_limiter;
  // Group commit of the store's connection: when set, every frame waits until the writes made
  // while producing it are durable (GroupCommit::durable) before it is written.
  GroupCommit* group = nullptr;
  // Read anywhere; set through request_stop(), which also wakes the idle connections.
  std::atomic<bool> stopping{false};
  // On the io thread: sets `stopping` and interrupts every live connection's pending read, so each
  // terminates its sessions and returns.
  void request_stop();
  // Live connections' read interrupters (io thread only); a connection registers while it runs.
  std::uint64_t add_interrupter(std::function<void()> interrupt);
  void remove_interrupter(std::uint64_t id);
  std::atomic<std::size_t> sessions_established{0};  // counters for tests and the shutdown log
  std::atomic<std::size_t> sessions_refused{0};

 private:
  std::map<std::uint64_t, std::function<void()>> interrupters_;
  std::uint64_t next_interrupter_ = 0;
};

// The TcpListener handler: [ctx](net::FramedStream s) { return serve_dtd_connection(ctx, std::move(s)); }
net::asio::awaitable<void> serve_dtd_connection(std::shared_ptr<ServerContext> server, net::FramedStream stream);

}  // namespace cardperso::ads
