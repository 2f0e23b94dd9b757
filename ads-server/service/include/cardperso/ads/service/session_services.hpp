#pragma once
// What a session on a DTD link needs from the server: the issuer's records, randomness, the
// personalisation services, and the counters the shutdown log reports. Shared by every link.
#include <atomic>
#include <cstddef>

#include <boost/asio/thread_pool.hpp>

#include "cardperso/ads/perso/perso_services.hpp"
#include "cardperso/ads/service/address_penalties.hpp"
#include "cardperso/ads/service/session_metrics.hpp"
#include "cardperso/ads/store/retailer_directory.hpp"
#include "cardperso/proto/actions.hpp"

namespace cardperso::ads {

struct SessionServices {
  SessionServices(RetailerDirectory& directory_, SessionJournal& journal_) : directory(directory_), journal(journal_) {}
  RetailerDirectory& directory;
  SessionJournal& journal;
  proto::RandomSource random = proto::default_random_source();
  // Personalisation (ads-server/perso): null when the server has no card profile; C1/P1/P3 then end
  // the session. An assessment that may block (external command) runs on blocking_pool when given;
  // the link's coroutine waits for it (its other sessions wait too, at most the command's timeout).
  PersoServices* perso = nullptr;
  boost::asio::thread_pool* blocking_pool = nullptr;
  // Anonymous failures per source address (address_penalties.hpp); null: not counted.
  AddressPenalties* penalties = nullptr;
  // The server's metrics; null: none kept.
  SessionMetrics* metrics = nullptr;
  std::atomic<std::size_t> sessions_established{0};  // for tests and the shutdown log
  std::atomic<std::size_t> sessions_refused{0};
  std::atomic<std::size_t> retailer_lockouts{0};
};

}  // namespace cardperso::ads
