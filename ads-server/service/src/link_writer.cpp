#include "cardperso/ads/service/link_writer.hpp"

#include <spdlog/spdlog.h>

namespace cardperso::ads {

void LinkWriter::mark() {
  if (group_ != nullptr) mark_ = group_->mark();
}

net::asio::awaitable<void> LinkWriter::send(const proto::Frame& frame) {
  if (broken_) co_return;
  if (group_ != nullptr) {
    auto durable = co_await group_->durable(mark_);
    if (broken_) co_return;
    if (!durable) {
      spdlog::error("{}: frame for session {} held back: {}; ending the link and its sessions", who_,
                    frame.header.session, durable.error().message);
      if (frame.header.session != 0) {
        // Reports nothing as done, so it needs no durable write behind it.
        const auto error = proto::make_frame(
            frame.header.channel, frame.header.session,
            proto::ErrorMessage::make(proto::ErrorCode::Internal,
                                      "the server could not save its records; the session is ended"));
        (void)co_await stream_.write_frame(error.header, error.payload);
      }
      broken_ = true;
      co_return;
    }
  }
  auto written = co_await stream_.write_frame(frame.header, frame.payload);
  if (!written) {
    spdlog::warn("{}: {}", who_, written.error().message);
    broken_ = true;
    co_return;
  }
  if (on_sent_) on_sent_(proto::Clock::now());
}

}  // namespace cardperso::ads
