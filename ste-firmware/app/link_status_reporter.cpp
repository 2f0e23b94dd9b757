#include "link_status_reporter.hpp"

#include <spdlog/spdlog.h>

#include <deque>

#include "cardperso/proto/messages.hpp"

namespace cardperso::ste {

struct LinkStatusReporter::Impl : std::enable_shared_from_this<Impl> {
  explicit Impl(net::FramedStream l) : link(std::move(l)) {}

  // Everything below is touched on the link's executor only.
  void enqueue(const proto::TerminalStatus& status);

  net::FramedStream link;
  std::deque<proto::TerminalStatus> queue;
  bool writing = false;  // a drain() coroutine is running
  bool failed = false;   // a write failed: the link is gone, every later status is dropped
  std::size_t sent = 0;
  std::size_t dropped = 0;
};

namespace {

net::asio::awaitable<void> drain(std::shared_ptr<LinkStatusReporter::Impl> self) {
  while (!self->queue.empty()) {
    if (self->failed || !self->link.is_open()) {
      self->dropped += self->queue.size();
      self->queue.clear();
      break;
    }
    const auto frame = proto::make_frame(proto::Channel::LinkControl, 0, self->queue.front());
    self->queue.pop_front();
    auto written = co_await self->link.write_frame(frame.header, frame.payload);
    if (!written) {
      // The session sees the same link fail on its next read or write and says so; nothing here.
      self->failed = true;
      ++self->dropped;
      spdlog::debug("terminal status not sent: {}", written.error().message);
      continue;
    }
    ++self->sent;
  }
  self->writing = false;
}

}  // namespace

void LinkStatusReporter::Impl::enqueue(const proto::TerminalStatus& status) {
  if (failed || !link.is_open()) {
    ++dropped;
    return;
  }
  if (queue.size() >= kMaxQueued) {
    queue.pop_front();
    ++dropped;
  }
  queue.push_back(status);
  if (writing) return;
  writing = true;
  net::asio::co_spawn(link.get_executor(), drain(shared_from_this()), net::asio::detached);
}

LinkStatusReporter::LinkStatusReporter(net::FramedStream link) : impl_(std::make_shared<Impl>(std::move(link))) {}

void LinkStatusReporter::report(const proto::TerminalStatus& status) {
  if (!status.check()) return;  // a programmer error; never worth failing a card over
  // Posted even from the link's own thread, so statuses keep the order they were reported in.
  net::asio::post(impl_->link.get_executor(), [impl = impl_, status] { impl->enqueue(status); });
}

net::asio::awaitable<void> LinkStatusReporter::flush(std::chrono::milliseconds limit) {
  auto impl = impl_;
  // Statuses posted before this call are queued once this post has come round.
  co_await net::asio::post(impl->link.get_executor(), net::asio::use_awaitable);
  const auto deadline = std::chrono::steady_clock::now() + limit;
  net::asio::steady_timer pause(impl->link.get_executor());
  // A local link takes a 21-byte frame at once; this loops once or twice.
  while (impl->writing && std::chrono::steady_clock::now() < deadline) {
    pause.expires_after(std::chrono::milliseconds{2});
    boost::system::error_code ignored;
    co_await pause.async_wait(net::asio::redirect_error(net::asio::use_awaitable, ignored));
  }
}

std::size_t LinkStatusReporter::sent() const { return impl_->sent; }
std::size_t LinkStatusReporter::dropped() const { return impl_->dropped; }

}  // namespace cardperso::ste
