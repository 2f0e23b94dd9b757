#include "cardperso/ads/service/connection_session.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "cardperso/ads/service/hello_admission.hpp"
#include "cardperso/ads/service/link_sessions.hpp"
#include "cardperso/ads/service/link_writer.hpp"
#include "cardperso/proto/ads_link_core.hpp"

namespace cardperso::ads {

namespace {

using proto::Clock;

class Connection {
 public:
  Connection(std::shared_ptr<ServerContext> server, net::FramedStream stream)
      : server_(std::move(server)),
        stream_(std::move(stream)),
        core_(server_->options.link(), stream_.peer(), [ids = &server_->ids] { return ids->next(); }, Clock::now()),
        writer_(stream_, server_->group, [this](proto::TimePoint now) { core_.on_sent(now); }),
        sessions_(server_->services, writer_, stream_.peer(), server_->options.timeouts) {
    writer_.set_name(who());
  }

  net::asio::awaitable<void> run();

 private:
  net::asio::awaitable<void> carry_out(proto::LinkActions actions);
  // By address: the DTD's own name (LinkHello) is unauthenticated and only logged once, as a claim.
  std::string who() const { return fmt::format("DTD at {}", stream_.peer()); }
  bool open() const { return core_.state() == proto::AdsLinkCore::State::Open; }
  std::chrono::milliseconds next_wait() const;

  std::shared_ptr<ServerContext> server_;
  net::FramedStream stream_;
  proto::AdsLinkCore core_;
  LinkWriter writer_;
  LinkSessions sessions_;
  std::string down_;  // why the link core closed the link; empty while it is up
};

void log(const proto::LinkLog& line) {
  switch (line.level) {
    case proto::LinkLog::Level::Debug: spdlog::debug("{}", line.text); break;
    case proto::LinkLog::Level::Info: spdlog::info("{}", line.text); break;
    case proto::LinkLog::Level::Warn: spdlog::warn("{}", line.text); break;
  }
}

net::asio::awaitable<void> Connection::carry_out(proto::LinkActions actions) {
  for (auto& action : actions) {
    if (writer_.broken()) co_return;
    if (auto* send = std::get_if<proto::SendFrame>(&action)) {
      co_await writer_.send(send->frame);
    } else if (auto* line = std::get_if<proto::LinkLog>(&action)) {
      log(*line);
    } else if (std::get_if<proto::LinkUp>(&action) != nullptr) {
      writer_.set_name(who());
    } else if (auto* frame = std::get_if<proto::SessionFrame>(&action)) {
      co_await sessions_.on_frame(frame->session, frame->opened, frame->frame, Clock::now());
    } else if (auto* down = std::get_if<proto::LinkDown>(&action)) {
      down_ = down->why;
    }
  }
  for (auto id : sessions_.erase_closed()) core_.session_ended(id);
}

std::chrono::milliseconds Connection::next_wait() const {
  auto until = core_.deadline();
  if (auto d = sessions_.deadline()) until = std::min(until, *d);
  return proto::wait_until(until, Clock::now());
}

net::asio::awaitable<void> Connection::run() {
  auto interrupt = server_->stop.subscribe([this] { stream_.interrupt_read(); });
  writer_.mark();
  if (auto busy = refuse_hello(server_->hello_limiter.get(), stream_.peer(), std::chrono::steady_clock::now())) {
    co_await writer_.send(proto::make_frame(proto::Channel::LinkControl, 0,
                                            proto::ErrorMessage::make(proto::ErrorCode::Busy, *busy)));
    co_return;
  }
  while (!writer_.broken() && down_.empty()) {
    writer_.mark();
    if (server_->stop.requested()) {
      if (!open()) co_return;
      co_await sessions_.terminate_all("server shutting down");
      spdlog::info("{}: link closed, server shutting down", who());
      co_return;
    }
    co_await sessions_.fire_timeouts(Clock::now());
    for (auto id : sessions_.erase_closed()) core_.session_ended(id);
    co_await carry_out(core_.on_tick(Clock::now()));
    // Checked again with no suspension before the read starts, so a stop request cannot be missed.
    if (!down_.empty() || server_->stop.requested() || writer_.broken()) continue;
    auto frame = co_await stream_.read_frame(next_wait());
    if (!frame) {
      if (frame.failure() == net::ReadFailure::Timeout) continue;
      co_await carry_out(core_.on_read_failed(frame.error().message, frame.failure() == net::ReadFailure::BadFrame));
      break;
    }
    // Taken again after the wait, so a commit that failed while this link was idle is not held
    // against the writes this frame is about to make.
    writer_.mark();
    co_await carry_out(core_.on_frame(*frame, Clock::now()));
  }
  sessions_.drop_all(writer_.broken() || down_.empty() ? "peer closed" : down_);
  stream_.close();
}

}  // namespace

net::asio::awaitable<void> serve_dtd_connection(std::shared_ptr<ServerContext> server, net::FramedStream stream) {
  auto connection = std::make_shared<Connection>(std::move(server), std::move(stream));
  co_await connection->run();
}

}  // namespace cardperso::ads
