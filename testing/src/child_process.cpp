#include "cardperso/testing/child_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "cardperso/testing/run_program.hpp"

extern char** environ;

namespace cardperso::testing {

namespace {

using Clock = std::chrono::steady_clock;

// A chatty child must not grow the test without bound; what is beyond is dropped.
constexpr std::size_t kMaxStoredStdout = 16 * 1024 * 1024;

Millis left_until(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now());
  return left.count() < 0 ? Millis(0) : left;
}

// The inherited environment with spec.env's entries replacing those of the same name.
std::vector<std::string> environment(const std::vector<std::string>& extra) {
  std::vector<std::string> out;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry(*e);
    const std::string key = entry.substr(0, entry.find('=') + 1);
    bool replaced = false;
    for (const auto& x : extra) replaced = replaced || x.rfind(key, 0) == 0;
    if (!replaced) out.push_back(entry);
  }
  out.insert(out.end(), extra.begin(), extra.end());
  return out;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

void add_output(posix_spawn_file_actions_t* actions, const Stream& s, int fd, int pipe_write_end) {
  switch (s.kind) {
    case Stream::Kind::Inherit:
      break;
    case Stream::Kind::Null:
      posix_spawn_file_actions_addopen(actions, fd, "/dev/null", O_WRONLY, 0);
      break;
    case Stream::Kind::Pipe:
      posix_spawn_file_actions_adddup2(actions, pipe_write_end, fd);
      break;
    case Stream::Kind::File:
      posix_spawn_file_actions_addopen(actions, fd, s.path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      break;
    case Stream::Kind::AppendFile:
      posix_spawn_file_actions_addopen(actions, fd, s.path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
      break;
    case Stream::Kind::Stdout:
      posix_spawn_file_actions_adddup2(actions, STDOUT_FILENO, fd);
      break;
  }
}

ProcessSpec stderr_to_file(std::string name, std::vector<std::string> argv, std::string stderr_path,
                           std::vector<std::pair<int, int>> fd_map) {
  ProcessSpec spec;
  spec.name = std::move(name);
  spec.argv = std::move(argv);
  spec.err = Stream::append_to(std::move(stderr_path));
  spec.fd_map = std::move(fd_map);
  return spec;
}

}  // namespace

Result<std::unique_ptr<ChildProcess>> ChildProcess::start(ProcessSpec spec) {
  try {
    return std::make_unique<ChildProcess>(std::move(spec));
  } catch (const std::runtime_error& e) {
    return fail(e.what());
  }
}

ChildProcess::ChildProcess(std::string name, std::vector<std::string> argv, std::string stderr_path,
                           std::vector<std::pair<int, int>> fd_map)
    : ChildProcess(stderr_to_file(std::move(name), std::move(argv), std::move(stderr_path), std::move(fd_map))) {}

ChildProcess::ChildProcess(ProcessSpec spec) : name_(spec.name.empty() ? spec.argv.at(0) : spec.name) {
  if (spec.err.kind == Stream::Kind::File || spec.err.kind == Stream::Kind::AppendFile) stderr_path_ = spec.err.path;
  int out_pipe[2] = {-1, -1};
  int in_pipe[2] = {-1, -1};
  if (spec.out.kind == Stream::Kind::Pipe && ::pipe2(out_pipe, O_CLOEXEC) != 0)
    throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  if (spec.in.kind == Stream::Kind::Pipe && ::pipe2(in_pipe, O_CLOEXEC) != 0) {
    if (out_pipe[0] >= 0) ::close(out_pipe[0]), ::close(out_pipe[1]);
    throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  }
  auto args = c_strings(spec.argv);
  auto env_strings = environment(spec.env);
  auto envp = c_strings(env_strings);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (spec.in.kind == Stream::Kind::Pipe) posix_spawn_file_actions_adddup2(&actions, in_pipe[0], STDIN_FILENO);
  if (spec.in.kind == Stream::Kind::Null) posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  add_output(&actions, spec.out, STDOUT_FILENO, out_pipe[1]);
  add_output(&actions, spec.err, STDERR_FILENO, out_pipe[1]);
  for (const auto& [from, to] : spec.fd_map) posix_spawn_file_actions_adddup2(&actions, from, to);
  const int rc = spec.search_path
                     ? ::posix_spawnp(&pid_, spec.argv.at(0).c_str(), &actions, nullptr, args.data(), envp.data())
                     : ::posix_spawn(&pid_, spec.argv.at(0).c_str(), &actions, nullptr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (out_pipe[1] >= 0) ::close(out_pipe[1]);
  if (in_pipe[0] >= 0) ::close(in_pipe[0]);
  if (rc != 0) {
    if (out_pipe[0] >= 0) ::close(out_pipe[0]);
    if (in_pipe[1] >= 0) ::close(in_pipe[1]);
    pid_ = -1;
    throw std::runtime_error("cannot start " + spec.argv.at(0) + ": " + std::strerror(rc));
  }
  stdout_fd_ = out_pipe[0];
  stdin_fd_ = in_pipe[1];
}

ChildProcess::~ChildProcess() {
  kill_now();
  close_stdout();
  if (stdin_fd_ >= 0) ::close(stdin_fd_);
}

void ChildProcess::close_stdout() {
  if (stdout_fd_ < 0) return;
  ::close(stdout_fd_);
  stdout_fd_ = -1;
  if (!pending_.empty()) lines_.push_back(std::move(pending_));
  pending_.clear();
}

bool ChildProcess::read_more(Millis timeout) {
  if (stdout_fd_ < 0) return false;
  pollfd p{stdout_fd_, POLLIN, 0};
  int rc = ::poll(&p, 1, static_cast<int>(timeout.count()));
  if (rc <= 0) return true;  // timeout or EINTR: still open
  char buffer[4096];
  ssize_t n = ::read(stdout_fd_, buffer, sizeof buffer);
  if (n < 0 && errno == EINTR) return true;
  if (n <= 0) {
    close_stdout();
    return false;
  }
  const auto size = static_cast<std::size_t>(n);
  if (stored_ >= kMaxStoredStdout) return true;
  stored_ += size;
  pending_.append(buffer, size);
  std::size_t eol;
  while ((eol = pending_.find('\n')) != std::string::npos) {
    lines_.push_back(pending_.substr(0, eol));
    pending_.erase(0, eol + 1);
  }
  return true;
}

void ChildProcess::drain_stdout() {
  while (stdout_fd_ >= 0) {
    pollfd p{stdout_fd_, POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0) break;
    if (!read_more(Millis(0))) break;
  }
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

bool ChildProcess::wait_for_next_line(const std::string& line, Millis timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    while (next_line_ < lines_.size())
      if (lines_[next_line_++] == line) return true;
    const Millis left = left_until(deadline);
    if (left.count() == 0) return false;
    if (!read_more(left) && next_line_ == lines_.size()) return false;
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
  pid_t r;
  do {
    r = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r != pid_) return false;
  pid_ = -1;
  if (WIFSIGNALED(status)) exit_signal_ = WTERMSIG(status);
  exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return true;
}

std::optional<int> ChildProcess::wait_exit(Millis timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (reap(false)) {
      // A grandchild could hold the pipe open: stop draining once the pipe is empty.
      drain_stdout();
      return exit_code_;
    }
    const Millis left = left_until(deadline);
    if (left.count() == 0) return std::nullopt;
    if (!read_more(std::min(left, Millis(50)))) std::this_thread::sleep_for(std::min(left, Millis(10)));
  }
}

std::optional<int> ChildProcess::terminate(Millis grace) {
  if (pid_ <= 0) return exit_code_;
  ::kill(pid_, SIGTERM);
  const auto give_up = Clock::now() + grace;
  while (Clock::now() < give_up) {
    if (reap(false)) return exit_code_;
    std::this_thread::sleep_for(Millis(10));
  }
  kill_now();
  return std::nullopt;
}

void ChildProcess::send_signal(int sig) {
  if (pid_ > 0) ::kill(pid_, sig);
}

void ChildProcess::kill_now() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  reap(true);
}

std::string ChildProcess::exit_text() const {
  if (exit_signal_) return std::string("signal ") + strsignal(*exit_signal_);
  if (exit_code_) return "exit status " + std::to_string(*exit_code_);
  return "still running";
}

void ChildProcess::write_stdin(const std::string& text) {
  if (stdin_fd_ < 0) return;
  ssize_t n = ::write(stdin_fd_, text.data(), text.size());
  (void)n;
}

std::string ChildProcess::stderr_text() const { return stderr_path_.empty() ? std::string() : read_text_file(stderr_path_); }

std::string ChildProcess::stdout_text() const {
  std::string all;
  for (const auto& l : lines_) all += l + "\n";
  return all + pending_;
}

}  // namespace cardperso::testing
