#pragma once
// The ADS application's sessions of one DTD link, keyed by the id the link core chose: it creates
// one at its opening frame, feeds it frames and timeouts, and ends them all when the link closes.
// Which ids exist is the link core's table (AdsLinkCore); erase_closed() reports the ended ones to it.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cardperso/ads/service/session_actions.hpp"

namespace cardperso::ads {

class LinkSessions {
 public:
  LinkSessions(SessionServices& services, LinkWriter& writer, std::string peer, proto::Timeouts timeouts)
      : actions_(services, writer, std::move(peer)), timeouts_(timeouts) {}

  net::asio::awaitable<void> on_frame(std::uint32_t id, bool opened, const proto::Frame& frame, proto::TimePoint now);
  // The sessions whose handshake or idle deadline has passed.
  net::asio::awaitable<void> fire_timeouts(proto::TimePoint now);
  // The ADS ends every session (sealed Terminate where established) and says why in the records.
  net::asio::awaitable<void> terminate_all(const std::string& why);
  // The link is gone: nothing can be sent, so the sessions are closed here (keys erased) and recorded.
  void drop_all(const std::string& why);
  // Forgets the closed sessions and returns their ids.
  std::vector<std::uint32_t> erase_closed();
  std::optional<proto::TimePoint> deadline() const;

 private:
  SessionActions actions_;
  proto::Timeouts timeouts_;
  std::map<std::uint32_t, std::unique_ptr<LinkSession>> sessions_;
};

}  // namespace cardperso::ads
