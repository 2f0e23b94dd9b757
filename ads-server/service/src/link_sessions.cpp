#include "cardperso/ads/service/link_sessions.hpp"

#include <algorithm>

#include "cardperso/ads/service/session_records.hpp"

namespace cardperso::ads {

net::asio::awaitable<void> LinkSessions::on_frame(std::uint32_t id, bool opened, const proto::Frame& frame,
                                                  proto::TimePoint now) {
  auto found = sessions_.find(id);
  if (found == sessions_.end()) {
    if (!opened) co_return;
    found = sessions_.emplace(id, std::make_unique<LinkSession>(id, timeouts_, actions_.services().random)).first;
  }
  LinkSession& s = *found->second;
  if (s.closed) co_return;
  co_await actions_.carry_out(id, s, s.handshake.on_frame(frame, now));
}

net::asio::awaitable<void> LinkSessions::fire_timeouts(proto::TimePoint now) {
  std::vector<std::uint32_t> due;
  for (const auto& [id, s] : sessions_)
    if (!s->closed && s->handshake.deadline() && *s->handshake.deadline() <= now) due.push_back(id);
  for (auto id : due) {
    auto& s = *sessions_.at(id);
    co_await actions_.carry_out(id, s, s.handshake.on_timeout(now));
  }
}

net::asio::awaitable<void> LinkSessions::terminate_all(const std::string& why) {
  std::vector<std::uint32_t> ids;
  for (const auto& [id, s] : sessions_) ids.push_back(id);
  for (auto id : ids) {
    auto& s = *sessions_.at(id);
    if (s.closed) continue;
    s.reason_override = why;
    co_await actions_.carry_out(id, s, s.handshake.terminate(proto::ErrorCode::Internal));
  }
  sessions_.clear();
}

void LinkSessions::drop_all(const std::string& why) {
  for (auto& [id, s] : sessions_) {
    if (s->closed) continue;
    s->reason_override = why;
    const auto actions = s->handshake.terminate(proto::ErrorCode::Internal);  // erases the keys; the frames cannot go
    const auto* close = proto::find_action<proto::Close>(actions);
    record_end(actions_.services(), id, *s, close ? *close : proto::Close{proto::ErrorCode::Internal, why});
  }
  sessions_.clear();
}

std::vector<std::uint32_t> LinkSessions::erase_closed() {
  std::vector<std::uint32_t> closed;
  for (const auto& [id, s] : sessions_)
    if (s->closed) closed.push_back(id);
  for (auto id : closed) sessions_.erase(id);
  return closed;
}

std::optional<proto::TimePoint> LinkSessions::deadline() const {
  std::optional<proto::TimePoint> first;
  for (const auto& [id, s] : sessions_)
    if (auto d = s->handshake.deadline(); d && (!first || *d < *first)) first = d;
  return first;
}

}  // namespace cardperso::ads
