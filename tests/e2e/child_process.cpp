#include "child_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace cardperso::e2e {

namespace {

using Clock = std::chrono::steady_clock;

Millis left_until(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now());
  return left.count() < 0 ? Millis(0) : left;
}

}  // namespace

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

ChildProcess::ChildProcess(std::string name, std::vector<std::string> argv, std::string stderr_path,
                           std::vector<std::pair<int, int>> fd_map)
    : name_(std::move(name)), stderr_path_(std::move(stderr_path)) {
  int out_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
  posix_spawn_file_actions_addopen(&actions, 2, stderr_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  for (const auto& [from, to] : fd_map) posix_spawn_file_actions_adddup2(&actions, from, to);
  const int rc = ::posix_spawn(&pid_, argv.at(0).c_str(), &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(out_pipe[1]);
  if (rc != 0) {
    ::close(out_pipe[0]);
    pid_ = -1;
    throw std::runtime_error("cannot start " + argv.at(0) + ": posix_spawn error " + std::to_string(rc));
  }
  stdout_fd_ = out_pipe[0];
  stdout_open_ = true;
}

ChildProcess::~ChildProcess() {
  kill_now();
  if (stdout_fd_ >= 0) ::close(stdout_fd_);
}

bool ChildProcess::read_more(Millis timeout) {
  if (!stdout_open_) return false;
  pollfd p{stdout_fd_, POLLIN, 0};
  int rc = ::poll(&p, 1, static_cast<int>(timeout.count()));
  if (rc < 0 && errno == EINTR) return true;
  if (rc <= 0) return true;
  char buffer[4096];
  ssize_t n = ::read(stdout_fd_, buffer, sizeof buffer);
  if (n < 0 && errno == EINTR) return true;
  if (n <= 0) {
    stdout_open_ = false;
    if (!pending_.empty()) lines_.push_back(std::move(pending_));
    pending_.clear();
    return false;
  }
  pending_.append(buffer, static_cast<std::size_t>(n));
  std::size_t eol;
  while ((eol = pending_.find('\n')) != std::string::npos) {
    lines_.push_back(pending_.substr(0, eol));
    pending_.erase(0, eol + 1);
  }
  return true;
}

std::optional<std::vector<std::string>> ChildProcess::wait_for_line(const std::regex& re, Millis timeout) {
  const auto deadline = Clock::now() + timeout;
  std::size_t checked = 0;
  for (;;) {
    for (; checked < lines_.size(); ++checked) {
      std::smatch m;
      if (std::regex_search(lines_[checked], m, re)) {
        std::vector<std::string> groups;
        for (const auto& g : m) groups.push_back(g.str());
        return groups;
      }
    }
    const Millis left = left_until(deadline);
    if (left.count() == 0) return std::nullopt;
    if (!read_more(std::min(left, Millis(100))) && checked == lines_.size()) return std::nullopt;
  }
}

bool ChildProcess::has_line(const std::regex& re) const {
  for (const auto& line : lines_)
    if (std::regex_search(line, re)) return true;
  return false;
}

bool ChildProcess::reap(bool block) {
  if (pid_ <= 0) return true;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
  if (r != pid_) return false;
  pid_ = -1;
  exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return true;
}

std::optional<int> ChildProcess::wait_exit(Millis timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (reap(false)) {
      while (read_more(Millis(0))) {
        // A grandchild could hold the pipe open: stop draining once the pipe is empty.
        pollfd p{stdout_fd_, POLLIN, 0};
        if (::poll(&p, 1, 0) <= 0) break;
      }
      return exit_code_;
    }
    const Millis left = left_until(deadline);
    if (left.count() == 0) return std::nullopt;
    if (!read_more(std::min(left, Millis(50)))) std::this_thread::sleep_for(std::min(left, Millis(20)));
  }
}

void ChildProcess::send_signal(int sig) {
  if (pid_ > 0) ::kill(pid_, sig);
}

void ChildProcess::kill_now() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  reap(true);
}

std::string ChildProcess::stdout_text() const {
  std::string all;
  for (const auto& l : lines_) all += l + "\n";
  return all + pending_;
}

std::string ChildProcess::stderr_text() const { return read_text_file(stderr_path_); }

RunResult run_program(std::vector<std::string> argv, const std::string& stderr_path, Millis timeout) {
  std::string name = argv.at(0);
  ChildProcess child(std::move(name), std::move(argv), stderr_path);
  RunResult result;
  result.exit_code = child.wait_exit(timeout);
  result.out = child.stdout_text();
  result.err = child.stderr_text();
  return result;
}

}  // namespace cardperso::e2e
