#include "cardperso/ads/policy/external_assessor.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace cardperso::ads::policy {

namespace {

constexpr std::size_t kMaxOutputKept = 4096;

using Clock = std::chrono::steady_clock;

struct Fd {
  int fd = -1;
  Fd() = default;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  void reset() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

int remaining_ms(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(left);
}

// The first line of the program's output, reduced to printable ASCII.
std::string first_line(const std::string& out) {
  std::string line = out.substr(0, out.find('\n'));
  std::string clean;
  for (char c : line) {
    if (clean.size() >= kMaxReason) break;
    clean.push_back(static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x7F ? c : '?');
  }
  while (!clean.empty() && clean.back() == ' ') clean.pop_back();
  return clean;
}

// Waits for the child until the deadline; true when it was reaped into *status.
bool wait_until(pid_t pid, Clock::time_point deadline, int* status) {
  for (;;) {
    const pid_t r = ::waitpid(pid, status, WNOHANG);
    if (r == pid) return true;
    if (r < 0 && errno != EINTR) {  // not reapable (e.g. SIGCHLD ignored): no proof of a go
      *status = 255 << 8;
      return true;
    }
    if (remaining_ms(deadline) == 0) return false;
    ::poll(nullptr, 0, std::min(remaining_ms(deadline), 10));
  }
}

void kill_group(pid_t pid) {
  ::kill(-pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
}

}  // namespace

Result<ExternalVerdict> run_external_assessment(const ExternalCommand& command, std::string_view details_json) {
  if (command.argv.empty() || command.argv[0].empty() || command.argv[0][0] != '/') {
    return fail("the external assessment command must name its program by an absolute path");
  }
  int in_pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in_pair) != 0) {
    return fail(std::string("external assessment: socketpair: ") + std::strerror(errno));
  }
  Fd in_ours(in_pair[0]), in_child(in_pair[1]);
  int out_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) return fail(std::string("external assessment: pipe: ") + std::strerror(errno));
  Fd out_ours(out_pipe[0]), out_child(out_pipe[1]);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_child.fd, 0);
  posix_spawn_file_actions_adddup2(&actions, out_child.fd, 1);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigaddset(&defaults, SIGTERM);
  sigaddset(&defaults, SIGINT);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setpgroup(&attr, 0);  // its own group, so a timeout kills what it started too
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);

  std::vector<std::string> args = command.argv;
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::string path_env = "PATH=/usr/local/bin:/usr/bin:/bin", lang_env = "LC_ALL=C";
  char* envp[] = {path_env.data(), lang_env.data(), nullptr};

  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, args[0].c_str(), &actions, &attr, argv.data(), envp);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return fail("cannot start external assessment " + args[0] + ": " + std::strerror(rc));
  in_child.reset();
  out_child.reset();

  const auto deadline = Clock::now() + command.timeout;
  // The details are small (bounded) and fit the socket buffer; a program that exits without reading
  // them gives EPIPE, which MSG_NOSIGNAL turns into an error instead of a signal.
  std::size_t sent = 0;
  while (sent < details_json.size()) {
    const ssize_t n = ::send(in_ours.fd, details_json.data() + sent, details_json.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    sent += static_cast<std::size_t>(n);
  }
  in_ours.reset();  // end of input

  std::string out;
  bool eof = false;
  while (!eof) {
    const int wait = remaining_ms(deadline);
    if (wait == 0) break;
    pollfd p{out_ours.fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, wait);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) break;
    char buf[1024];
    const ssize_t n = ::read(out_ours.fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      eof = true;
      break;
    }
    // Keep the start; drain the rest so that a chatty program does not block on a full pipe.
    const std::size_t keep = std::min<std::size_t>(static_cast<std::size_t>(n), kMaxOutputKept - std::min(out.size(), kMaxOutputKept));
    out.append(buf, keep);
  }

  ExternalVerdict verdict;
  int status = 0;
  if (!eof || !wait_until(pid, deadline, &status)) {
    kill_group(pid);
    verdict.timed_out = true;
    verdict.reason = "external assessment did not answer within " + std::to_string(command.timeout.count()) +
                     " ms; no-go";
    return verdict;
  }
  const std::string line = first_line(out);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    verdict.go = true;
    verdict.reason = line;
    return verdict;
  }
  if (!line.empty()) {
    verdict.reason = line;
  } else if (WIFEXITED(status)) {
    verdict.reason = "external assessment said no-go (exit status " + std::to_string(WEXITSTATUS(status)) + ")";
  } else {
    verdict.reason = "external assessment ended by signal " + std::to_string(WTERMSIG(status)) + "; no-go";
  }
  return verdict;
}

}  // namespace cardperso::ads::policy
