#include "cardperso/testing/osmo_hlr_process.hpp"

#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "cardperso/testing/run_program.hpp"
#include "cardperso/testing/sqlite_rows.hpp"
#include "cardperso/testing/tcp_connect.hpp"

namespace cardperso::testing {

namespace {

using Clock = std::chrono::steady_clock;

// Colourless, category names instead of hex numbers, timestamps: a log a person can read in a
// failure message. Notices and worse only: every GSUP request is logged at info.
std::string config_text(const std::string& ip) {
  return "log stderr\n"
         " logging filter all 1\n"
         " logging color 0\n"
         " logging print category-hex 0\n"
         " logging print category 1\n"
         " logging print extended-timestamp 1\n"
         " logging level all notice\n"
         "line vty\n"
         " bind " + ip + "\n"
         "ctrl\n"
         " bind " + ip + "\n"
         "hlr\n"
         " gsup\n"
         "  bind ip " + ip + "\n";
}

bool accepts(const std::string& ip, int port, Millis timeout) {
  auto fd = connect_tcp(ip, port, timeout);
  if (!fd) return false;
  ::close(*fd);
  return true;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// A read-only connection that osmo-hlr, running or not, is not disturbed by.
class ReadOnlyDb {
 public:
  explicit ReadOnlyDb(const std::string& path) {
    if (!std::filesystem::exists(path)) {
      error_ = "no osmo-hlr database at " + path + " (start osmo-hlr once to create it)";
      return;
    }
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
      error_ = "cannot open osmo-hlr database " + path + " read-only: " + sqlite3_errmsg(db_);
      return;
    }
    sqlite3_busy_timeout(db_, 5000);  // osmo-hlr may be writing right now
  }
  ~ReadOnlyDb() { sqlite3_close(db_); }
  ReadOnlyDb(const ReadOnlyDb&) = delete;
  ReadOnlyDb& operator=(const ReadOnlyDb&) = delete;
  sqlite3* get() const { return error_.empty() ? db_ : nullptr; }
  const std::string& error() const { return error_; }

 private:
  sqlite3* db_ = nullptr;
  std::string error_;
};

}  // namespace

OsmoHlr::OsmoHlr(std::string work_dir, std::string ip)
    : work_dir_(std::move(work_dir)),
      ip_(std::move(ip)),
      config_path_(work_dir_ + "/osmo-hlr.cfg"),
      db_path_(work_dir_ + "/hlr.db"),
      log_path_(work_dir_ + "/osmo-hlr.log") {}

OsmoHlr::~OsmoHlr() = default;  // ChildProcess SIGKILLs and reaps

Result<void> OsmoHlr::write_config() const {
  std::ofstream out(config_path_, std::ios::trunc);
  out << config_text(ip_);
  out.close();
  if (!out) return fail("cannot write the osmo-hlr config " + config_path_ + " (does " + work_dir_ + " exist?)");
  return {};
}

Result<void> OsmoHlr::start(Millis timeout) {
  if (running())
    return fail(Errc::AlreadyExists, "osmo-hlr is already running (pid " + std::to_string(child_->pid()) + ")");
  // The ports are fixed: a listener already there would answer our readiness probe in its place.
  for (const int port : {kGsupPort, kCtrlPort}) {
    if (accepts(ip_, port, Millis(300)))
      return fail(Errc::AlreadyExists, "something already listens on " + ip_ + ":" + std::to_string(port) +
                                           " (a previous osmo-hlr still running?); osmo-hlr 1.5.0 cannot move its "
                                           "ports: stop that one or bind this one to another address");
  }
  if (auto written = write_config(); !written) return written;
  ProcessSpec spec;
  spec.name = "osmo-hlr";
  spec.argv = {"osmo-hlr", "-c", config_path_, "-l", db_path_};
  spec.search_path = true;
  spec.out = Stream::null();
  spec.err = Stream::append_to(log_path_);  // a restart keeps the earlier runs' lines
  auto child = ChildProcess::start(std::move(spec));
  if (!child) return fail(Errc::Unavailable, child.error().message + " (install the osmo-hlr package)");
  child_ = std::move(*child);
  return wait_until_ready(timeout);
}

Result<void> OsmoHlr::wait_until_ready(Millis timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (!running())
      return fail(Errc::Unavailable, "osmo-hlr exited during start-up (" + child_->exit_text() + "); " + log_path_ +
                                         " ends with:\n" + log_tail());
    const auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now());
    if (left.count() <= 0) {
      child_->kill_now();
      return fail(Errc::Unavailable, "osmo-hlr did not accept on " + ip_ + ":" + std::to_string(kCtrlPort) +
                                         " (CTRL) and :" + std::to_string(kGsupPort) + " (GSUP) within " +
                                         std::to_string(timeout.count()) + " ms; killed it. " + log_path_ +
                                         " ends with:\n" + log_tail());
    }
    const Millis probe = std::min(left, Millis(500));
    // Still running after both ports accepted: they are this process's, not a late stranger's.
    if (accepts(ip_, kCtrlPort, probe) && accepts(ip_, kGsupPort, probe) && running()) return {};
    std::this_thread::sleep_for(std::min(left, Millis(20)));
  }
}

Result<void> OsmoHlr::stop(Millis grace) {
  if (!child_ || !child_->running()) return {};
  const auto code = child_->terminate(grace);
  if (!code)
    return fail("osmo-hlr did not exit within " + std::to_string(grace.count()) + " ms of SIGTERM; killed it. " +
                log_path_ + " ends with:\n" + log_tail());
  if (*code != 0) return fail("osmo-hlr exited with " + child_->exit_text() + " on SIGTERM; log:\n" + log_tail());
  return {};
}

void OsmoHlr::kill() {
  if (child_) child_->kill_now();
}

bool OsmoHlr::running() {
  if (!child_ || !child_->running()) return false;
  return !child_->wait_exit(Millis(0)).has_value();  // reaps a child that has died meanwhile
}

std::string OsmoHlr::log_tail(std::size_t lines) const {
  std::vector<std::string> all;
  std::istringstream in(read_text_file(log_path_));
  for (std::string line; std::getline(in, line);) all.push_back(std::move(line));
  std::string tail;
  for (std::size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i) tail += all[i] + "\n";
  return tail;
}

Result<std::vector<HlrSubscriber>> OsmoHlr::subscribers() const {
  const ReadOnlyDb db(db_path_);
  if (db.get() == nullptr) return fail(Errc::NotFound, db.error());
  const auto read = query_rows(db.get(),
                               "SELECT s.imsi, s.msisdn, s.nam_cs, s.nam_ps, a.algo_id_3g, a.k, a.op, a.opc "
                               "FROM subscriber s LEFT JOIN auc_3g a ON a.subscriber_id = s.id ORDER BY s.id");
  if (!read.error.empty()) return fail("reading osmo-hlr database " + db_path_ + ": " + read.error);
  std::vector<HlrSubscriber> out;
  for (const auto& row : read.rows) {
    HlrSubscriber s;
    s.imsi = row[0].value_or("");
    s.msisdn = row[1].value_or("");
    s.nam_cs = row[2].value_or("0") != "0";
    s.nam_ps = row[3].value_or("0") != "0";
    s.algo_id_3g = row[4] ? std::stoi(*row[4]) : 0;
    s.k_hex = lower(row[5].value_or(""));
    s.op_hex = lower(row[6].value_or(""));
    s.opc_hex = lower(row[7].value_or(""));
    out.push_back(std::move(s));
  }
  return out;
}

Result<std::size_t> OsmoHlr::subscriber_count() const {
  const ReadOnlyDb db(db_path_);
  if (db.get() == nullptr) return fail(Errc::NotFound, db.error());
  const auto read = query_rows(db.get(), "SELECT COUNT(*) FROM subscriber");
  if (!read.error.empty() || read.rows.size() != 1 || !read.rows[0][0])
    return fail("counting the subscribers in osmo-hlr database " + db_path_ + ": " + read.error);
  return static_cast<std::size_t>(std::stoull(*read.rows[0][0]));
}

}  // namespace cardperso::testing
