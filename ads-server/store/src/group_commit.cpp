#include "cardperso/ads/store/group_commit.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/thread_pool.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace cardperso::ads {

namespace asio = net::asio;

// One group transaction. Waiters sleep on a timer that never expires; the commit cancels it.
struct GroupCommit::Cycle {
  explicit Cycle(const asio::any_io_executor& executor) : wake(executor) {
    wake.expires_at(asio::steady_timer::time_point::max());
  }
  asio::steady_timer wake;
  bool done = false;
  std::optional<Error> error;
};

// Cancelled (and replaced) each time a flush ends; the flush waiters then check whether it covered them.
struct GroupCommit::Signal {
  explicit Signal(const asio::any_io_executor& executor) : wake(executor) {
    wake.expires_at(asio::steady_timer::time_point::max());
  }
  asio::steady_timer wake;
};

// The flusher thread and what it flushes. Only `flush` runs on that thread.
struct GroupCommit::Flusher {
  asio::thread_pool pool{1};
  FlushFunction flush;
  std::string wal_path;
  int wal_fd = -1;

  ~Flusher() {
    if (wal_fd >= 0) ::close(wal_fd);
  }

  // fdatasync covers the inode, so our own descriptor on the WAL file flushes SQLite's writes.
  // SQLite keeps the WAL file while its connection is open (a WAL restart rewrites it from offset
  // 0 and may truncate it, in place); should it have been replaced anyway, sync the one in use now.
  Result<void> sync_wal() {
    struct stat by_fd {};
    struct stat by_path {};
    const bool same = ::fstat(wal_fd, &by_fd) == 0 && by_fd.st_nlink > 0 && ::stat(wal_path.c_str(), &by_path) == 0 &&
                      by_path.st_ino == by_fd.st_ino && by_path.st_dev == by_fd.st_dev;
    if (!same) {
      const int fd = ::open(wal_path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
      if (fd < 0) {
        return fail("the WAL file " + wal_path + " is gone (" + std::strerror(errno) +
                    "); the server cannot make its records durable: stop it and check the database directory");
      }
      spdlog::warn("the WAL file {} was replaced while the server ran; flushing the new one", wal_path);
      ::close(wal_fd);
      wal_fd = fd;
    }
    if (::fdatasync(wal_fd) != 0) {
      return fail("flushing the WAL file " + wal_path + " to disk failed: " + std::strerror(errno) +
                  "; check the storage, then restart the server");
    }
    return {};
  }
};

GroupCommit::GroupCommit(Database& db, asio::any_io_executor executor, FlushFunction flush)
    : db_(db),
      executor_(std::move(executor)),
      cycle_(std::make_shared<Cycle>(executor_)),
      flush_signal_(std::make_shared<Signal>(executor_)),
      flusher_(std::make_unique<Flusher>()) {
  if (db_.backend() == Backend::Postgres) {
    // PostgreSQL's COMMIT returns once the server has flushed its WAL (and it flushes the commits of
    // concurrent transactions together): there is nothing left to flush here. Grouping still saves
    // a COMMIT, a flush and a taking of the writer lock per call.
    flusher_->flush = flush ? std::move(flush) : [] { return Result<void>{}; };
    db_.set_group(this);
    return;
  }
  if (flush) {
    flusher_->flush = std::move(flush);
  } else if (const char* wal = sqlite3_filename_wal(sqlite3_db_filename(db_.handle(), "main")); wal != nullptr) {
    flusher_->wal_path = wal;
    // A read makes sure SQLite has opened (created) its WAL file.
    (void)db_.exec("SELECT count(*) FROM sqlite_master", "open the WAL file");
    flusher_->wal_fd = ::open(flusher_->wal_path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (flusher_->wal_fd < 0) {
      spdlog::warn("cannot open the WAL file {} ({}); commits stay synchronous (slower, equally durable)",
                   flusher_->wal_path, std::strerror(errno));
    } else {
      flusher_->flush = [f = flusher_.get()] { return f->sync_wal(); };
    }
  }
  if (flusher_->flush) {
    // COMMIT no longer waits for the disk; the flusher makes it durable before anyone is told.
    if (auto r = db_.exec("PRAGMA synchronous=NORMAL", "group commit: set synchronous=NORMAL"); !r) {
      spdlog::warn("{}; commits stay synchronous", r.error().message);
      flusher_->flush = {};
    }
  }
  if (!flusher_->flush) flusher_->flush = [] { return Result<void>{}; };  // synchronous=FULL: COMMIT flushed
  db_.set_group(this);
  sqlite3_commit_hook(db_.handle(), &GroupCommit::on_sqlite_commit, this);
}

int GroupCommit::on_sqlite_commit(void* self) {
  auto* group = static_cast<GroupCommit*>(self);
  // Runs just before SQLite commits, inside the step: only note it; it is counted (and flushed)
  // once the statement has returned, at the next durable() or commit.
  if (!group->committing_group_) group->stray_commit_ = true;
  return 0;  // go on with the commit
}

void GroupCommit::count_stray_commit() {
  if (!stray_commit_) return;
  stray_commit_ = false;
  ++committed_;
  if (!flushing_ && !flush_broken_ && *alive_) start_flush();
}

GroupCommit::~GroupCommit() {
  *alive_ = false;
  if (db_.backend() == Backend::Postgres) {
    if (auto finished = finish(); !finished) spdlog::error("final group commit failed: {}", finished.error().message);
    db_.set_group(nullptr);
    return;
  }
  sqlite3_commit_hook(db_.handle(), nullptr, nullptr);
  if (auto finished = finish(); !finished) spdlog::error("final group commit failed: {}", finished.error().message);
  db_.set_group(nullptr);
  if (auto r = db_.exec("PRAGMA synchronous=FULL", "group commit: restore synchronous=FULL"); !r)
    spdlog::error("{}", r.error().message);
}

void GroupCommit::on_group_opened() {
  // A plain handler, not a coroutine: it runs after every handler that is ready now.
  asio::post(executor_, [this, alive = alive_] {
    if (!*alive) return;
    if (auto committed = commit_now(); !committed)
      spdlog::error("group commit failed, the sessions waiting on it end: {}", committed.error().message);
  });
}

Result<void> GroupCommit::commit_now() {
  count_stray_commit();
  if (!db_.group_open()) return {};
  committing_group_ = true;
  auto outcome = db_.commit_group();
  committing_group_ = false;
  ++commits_;
  if (!outcome) {
    ++failures_;
    last_failure_ = outcome.error();
  } else {
    ++committed_;
    if (!flushing_ && !flush_broken_ && *alive_) start_flush();
  }
  finish_cycle(outcome);
  return outcome;
}

Result<void> GroupCommit::finish() {
  auto committed = commit_now();
  flusher_->pool.join();  // a flush in progress ends; its completion (on the stopped io_context) is moot
  if (flush_broken_) return *flush_broken_;
  if (committed_ > flushed_) {
    auto flushed = flusher_->flush();
    ++flushes_;
    if (!flushed) {
      ++failures_;
      flush_broken_ = flushed.error();
      last_failure_ = flushed.error();
      return flushed.error();
    }
    flushed_ = committed_;
  }
  return committed;
}

void GroupCommit::finish_cycle(Result<void> outcome) {
  auto finished = std::move(cycle_);
  cycle_ = std::make_shared<Cycle>(executor_);
  finished->done = true;
  if (!outcome) finished->error = outcome.error();
  finished->wake.cancel();
}

void GroupCommit::start_flush() {
  flushing_ = true;
  // Every group committed so far: the flush starts (on the flusher) after all their COMMITs returned.
  const auto covered = committed_;
  auto work = asio::prefer(executor_, asio::execution::outstanding_work.tracked);
  asio::post(flusher_->pool, [this, alive = alive_, flusher = flusher_.get(), covered, work] {
    const auto started = std::chrono::steady_clock::now();
    auto outcome = flusher->flush();
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
    asio::post(work, [this, alive, covered, took, outcome = std::move(outcome)]() mutable {
      if (*alive) flush_done(covered, std::move(outcome), took);
    });
  });
}

void GroupCommit::flush_done(std::uint64_t covered, Result<void> outcome, std::chrono::duration<double> took) {
  flushing_ = false;
  ++flushes_;
  if (outcome && flush_observer_ && covered > flushed_) flush_observer_(covered - flushed_, took);
  if (!outcome) {
    if (!flush_broken_) {
      ++failures_;
      flush_broken_ = outcome.error();
      last_failure_ = outcome.error();
      spdlog::error("{}; every session waiting for it ends, and so will every later one", outcome.error().message);
    }
  } else {
    flushed_ = std::max(flushed_, covered);
  }
  auto signal = std::move(flush_signal_);
  flush_signal_ = std::make_shared<Signal>(executor_);
  signal->wake.cancel();
  // Groups committed while this flush ran need one that starts now.
  if (!flush_broken_ && committed_ > flushed_) start_flush();
}

asio::awaitable<Result<void>> GroupCommit::durable(Mark mark) {
  count_stray_commit();
  if (db_.group_open()) {
    auto cycle = cycle_;
    while (!cycle->done) {
      boost::system::error_code ec;
      co_await cycle->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
  }
  if (failures_ == mark.failures && !flush_broken_ && committed_ > mark.committed) {
    // The writes made since the mark are in the groups up to committed_ (with others' writes).
    const auto needed = committed_;
    while (flushed_ < needed && !flush_broken_) {
      auto signal = flush_signal_;
      boost::system::error_code ec;
      co_await signal->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
  }
  if (flush_broken_ || failures_ != mark.failures) {
    co_return fail("the server could not make its records durable (" +
                   (last_failure_ ? last_failure_->message : std::string("commit failed")) + ")");
  }
  co_return Result<void>{};
}

}  // namespace cardperso::ads
