#pragma once
// What every DTD link of one server shares, grouped by who needs it: the link's limits (options),
// the sessions' services, the session ids, the hello rate limit, the durability gate of the frames
// (group) and the shutdown request (stop).
#include <memory>

#include "cardperso/ads/service/connection_options.hpp"
#include "cardperso/ads/service/hello_rate_limiter.hpp"
#include "cardperso/ads/service/session_ids.hpp"
#include "cardperso/ads/service/session_services.hpp"
#include "cardperso/ads/store/group_commit.hpp"
#include "cardperso/net/stop_signal.hpp"

namespace cardperso::ads {

struct ServerContext {
  ServerContext(RetailerDirectory& directory, SessionJournal& journal, ConnectionOptions options_ = {})
      : options(options_), services(directory, journal) {}
  ConnectionOptions options;
  SessionServices services;
  SessionIds ids;
  // Hellos per source address (--hello-rate/--hello-burst); null: no limit. Over the limit a
  // connection gets Error Busy on channel 0 and is closed before its LinkHello is even read.
  std::shared_ptr<HelloRateLimiter> hello_limiter;
  // Group commit of the store's connection: when set, every frame waits until the writes made
  // while producing it are durable (GroupCommit::durable) before it is written.
  GroupCommit* group = nullptr;
  // Requested on the io thread: every live link's pending read ends, and the link terminates its
  // sessions and returns.
  net::StopSignal stop;
  void request_stop() { stop.request(); }
};

}  // namespace cardperso::ads
