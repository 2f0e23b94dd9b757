#pragma once
// The program's StatusReporter: each status becomes a TerminalStatus frame (channel 0, clear) on the
// DTD link, for the shop PC's console (PROTOCOL.md §5).
//
// report() never blocks and never fails: it may be called from the thread that runs the card and
// keypad work, and posts the status to the link's executor, where a writer sends the queue in order.
// The queue is short (the newest statuses win: the console wants what the display shows now); when
// the link is down, or a write failed, statuses are dropped. The link is shared with the session,
// whose frames it queues behind (FramedStream serialises writers).
#include <chrono>
#include <memory>

#include "cardperso/net/asio.hpp"
#include "cardperso/net/framed_stream.hpp"
#include "cardperso/ste/status_reporter.hpp"

namespace cardperso::ste {

class LinkStatusReporter final : public StatusReporter {
 public:
  // Statuses kept while a write is in progress; beyond, the oldest is dropped.
  static constexpr std::size_t kMaxQueued = 16;

  explicit LinkStatusReporter(net::FramedStream link);

  using StatusReporter::report;
  void report(const proto::TerminalStatus& status) override;

  // On the link's executor: lets the statuses reported so far reach the link, waiting at most
  // `limit` (before the program closes the link, so its last status is not lost).
  net::asio::awaitable<void> flush(std::chrono::milliseconds limit);

  std::size_t sent() const;     // statuses written to the link
  std::size_t dropped() const;  // statuses dropped (queue full, link down or failed)

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace cardperso::ste
