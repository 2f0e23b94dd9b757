#pragma once
// Writes a link's frames, gated on durability: with a group commit, no frame leaves before the
// writes made while producing it are durable (GroupCommit::durable), since a frame may report them
// done. A commit that fails breaks the link (an Error first for a session frame, which reports
// nothing as done); so does a failed write.
#include <functional>

#include "cardperso/ads/store/group_commit.hpp"
#include "cardperso/net/framed_stream.hpp"
#include "cardperso/proto/actions.hpp"

namespace cardperso::ads {

class LinkWriter {
 public:
  // group may be null (no durability gate). on_sent runs after each frame written.
  LinkWriter(net::FramedStream stream, GroupCommit* group, std::function<void(proto::TimePoint)> on_sent)
      : stream_(std::move(stream)), group_(group), on_sent_(std::move(on_sent)) {}

  // Starts a new turn: the writes from here on are the ones the next frames wait for. Taken again
  // after every wait, so a commit that failed while the link was idle is not held against them.
  void mark();
  net::asio::awaitable<void> send(const proto::Frame& frame);
  bool broken() const { return broken_; }
  // "DTD <name> at <peer>" in this link's log lines, once the hello named it.
  void set_name(std::string who) { who_ = std::move(who); }

 private:
  net::FramedStream stream_;
  GroupCommit* group_;
  std::function<void(proto::TimePoint)> on_sent_;
  GroupCommit::Mark mark_{};
  bool broken_ = false;
  std::string who_;
};

}  // namespace cardperso::ads
