#pragma once
// Group commit for the ADS's one database connection: one COMMIT covers every write made by every
// handler that ran in the same turn of the io_context, and one flush of the WAL file, run off the io
// thread, covers every COMMIT made before that flush started.
//
// The rule it keeps: no frame leaves the ADS before every database write made while producing it
// is durable. How:
//   - The Database is put in group mode: with_transaction joins one shared transaction (a SAVEPOINT
//     each), opened by the first write of a cycle.
//   - Opening the group posts the commit to the io_context, behind every handler that is ready
//     now, so they all add their writes to the same transaction first.
//   - In group mode the connection runs with synchronous=NORMAL: COMMIT appends the group's WAL
//     frames (with the commit marker) to the page cache and does not wait for the disk. Each
//     successful COMMIT gets the next sequence number.
//   - One flusher (a thread pool of one) fdatasyncs the WAL file. A flush covers every group whose
//     COMMIT returned before the flush started; a group committed while a flush runs waits for the
//     next one, which starts as soon as the running one ends. So the batch grows with the load.
//   - Before writing a frame, a connection co_awaits durable(mark), `mark` taken at the start of
//     the turn, before the handler wrote. It waits for the open group's COMMIT (if any); then, when
//     any group was committed since `mark` (the handler's writes are in one of them), for a flush
//     that started after the last of those COMMITs. A turn that wrote nothing waits for no flush.
//     A write that committed on its own (outside with_transaction) is counted as a group too,
//     through SQLite's commit hook.
//     It fails when a COMMIT or a flush failed since `mark`; after a flush failure every later
//     durable() fails too (the kernel may have dropped the dirty pages: nothing written since can
//     be trusted to reach the disk; restart the server, whose recovery reads what is really there).
// Checkpoints stay SQLite's business: with synchronous=NORMAL it syncs the WAL before a checkpoint
// and the database file after it, before the WAL is restarted (rewritten from offset 0 in the same
// file, so the flusher's descriptor stays valid).
// The Database and the counters are used only on the io_context's thread; the flusher touches
// only the WAL file descriptor.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "cardperso/ads/store/sqlite_db.hpp"
#include "cardperso/net/asio.hpp"

namespace cardperso::ads {

class GroupCommit final : public TransactionGroupListener {
 public:
  // Makes the writes of every group committed before it was called durable (runs on the flusher).
  using FlushFunction = std::function<Result<void>()>;

  // Puts `db` in group mode with synchronous=NORMAL and opens the WAL file for the flusher.
  // `flush` replaces the fdatasync of the WAL file (tests). The destructor commits and flushes
  // what is still open, and turns group mode off (synchronous=FULL again).
  GroupCommit(Database& db, net::asio::any_io_executor executor, FlushFunction flush = {});
  ~GroupCommit();
  GroupCommit(const GroupCommit&) = delete;
  GroupCommit& operator=(const GroupCommit&) = delete;

  struct Mark {
    std::uint64_t failures = 0;   // COMMITs and flushes that had failed
    std::uint64_t committed = 0;  // groups that had been committed
  };
  // Taken before a handler writes; passed to durable() before its frames go out.
  Mark mark() const { return Mark{failures_, committed_}; }
  // Waits until every write made since `mark` is committed and flushed; an error when a commit or
  // a flush failed since then. A cheap no-op when nothing is pending and nothing failed.
  net::asio::awaitable<Result<void>> durable(Mark mark);
  // Commits the open group now and starts its flush (tests); wakes the commit waiters.
  Result<void> commit_now();
  // Shutdown, after the io_context stopped: commits the open group and flushes on this thread.
  Result<void> finish();

  // Each finished flush, on the io thread: how many groups it made durable (the batch) and how long the
  // fdatasync took. For the metrics.
  using FlushObserver = std::function<void(std::uint64_t groups, std::chrono::duration<double> took)>;
  void on_flush(FlushObserver observer) { flush_observer_ = std::move(observer); }

  std::uint64_t commits() const { return commits_; }    // COMMITs run (including failed ones)
  std::uint64_t failures() const { return failures_; }  // COMMITs and flushes that failed
  std::uint64_t flushes() const { return flushes_; }    // flushes finished (including failed ones)

 private:
  struct Cycle;
  struct Signal;
  void on_group_opened() override;
  void finish_cycle(Result<void> outcome);
  void start_flush();
  void flush_done(std::uint64_t covered, Result<void> outcome, std::chrono::duration<double> took);
  void count_stray_commit();
  static int on_sqlite_commit(void* self);

  Database& db_;
  net::asio::any_io_executor executor_;
  std::shared_ptr<Cycle> cycle_;  // the group now open (or the next one)
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::optional<Error> last_failure_;
  std::uint64_t commits_ = 0;
  std::uint64_t failures_ = 0;
  std::uint64_t committed_ = 0;  // sequence number of the last successful COMMIT
  std::uint64_t flushed_ = 0;    // every group up to this one is durable
  std::uint64_t flushes_ = 0;
  bool flushing_ = false;
  bool committing_group_ = false;
  bool stray_commit_ = false;  // a write committed on its own (autocommit) and is not counted yet
  std::optional<Error> flush_broken_;  // set by the first failed flush; never cleared
  std::shared_ptr<Signal> flush_signal_;
  struct Flusher;
  std::unique_ptr<Flusher> flusher_;
  FlushObserver flush_observer_;
};

}  // namespace cardperso::ads
