#include "child_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>
#include <utility>

extern char** environ;

namespace cardperso::bench {
namespace {

using Clock = std::chrono::steady_clock;

std::string errno_text(int error) { return std::strerror(error); }

// posix_spawn wants mutable char*; the strings outlive the call.
std::vector<char*> c_argv(std::vector<std::string>& argv) {
  std::vector<char*> out;
  for (auto& a : argv) out.push_back(a.data());
  out.push_back(nullptr);
  return out;
}

Result<pid_t> spawn_with_stdout(std::vector<std::string> argv, int out_fd, bool with_stderr) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out_fd, STDOUT_FILENO);
  if (with_stderr) posix_spawn_file_actions_adddup2(&actions, out_fd, STDERR_FILENO);
  auto args = c_argv(argv);
  pid_t pid = -1;
  const int spawned = posix_spawn(&pid, argv[0].c_str(), &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) return fail("cannot start " + argv[0] + ": " + errno_text(spawned));
  return pid;
}

std::string exit_text(int status) {
  if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("signal ") + strsignal(WTERMSIG(status));
  return "status " + std::to_string(status);
}

}  // namespace

Result<std::string> run_program(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return fail("pipe: " + errno_text(errno));
  auto pid = spawn_with_stdout(argv, fds[1], true);
  close(fds[1]);
  if (!pid) {
    close(fds[0]);
    return pid.error();
  }
  std::string output;
  const auto deadline = Clock::now() + timeout;
  bool timed_out = false;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    const int ready = poll(&p, 1, static_cast<int>(left));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;
    char buffer[4096];
    const ssize_t n = read(fds[0], buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (output.size() < 1'000'000) output.append(buffer, static_cast<std::size_t>(n));
  }
  close(fds[0]);
  if (timed_out) kill(*pid, SIGKILL);
  int status = 0;
  while (waitpid(*pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) return fail(argv[0] + " did not finish within " + std::to_string(timeout.count()) + " ms");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::string args;
    for (std::size_t i = 1; i < argv.size() && i < 4; ++i) args += " " + argv[i];
    return fail(argv[0] + args + " failed (" + exit_text(status) + "): " + output);
  }
  return output;
}

Result<ListeningChild> ListeningChild::start(const std::vector<std::string>& argv,
                                             std::chrono::milliseconds ready_timeout) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return fail("pipe: " + errno_text(errno));
  auto pid = spawn_with_stdout(argv, fds[1], false);
  close(fds[1]);
  if (!pid) {
    close(fds[0]);
    return pid.error();
  }
  ListeningChild child(*pid, argv[0]);
  std::string line;
  const auto deadline = Clock::now() + ready_timeout;
  while (line.find('\n') == std::string::npos) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      close(fds[0]);
      return fail(argv[0] + " did not report its port within " + std::to_string(ready_timeout.count()) + " ms");
    }
    pollfd p{fds[0], POLLIN, 0};
    const int ready = poll(&p, 1, static_cast<int>(left));
    if (ready <= 0) continue;
    char buffer[256];
    const ssize_t n = read(fds[0], buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      close(fds[0]);
      return fail(argv[0] + " exited before reporting its port (see its errors above)");
    }
    line.append(buffer, static_cast<std::size_t>(n));
    if (line.size() > 4096) {
      close(fds[0]);
      return fail(argv[0] + " printed an over-long first line");
    }
  }
  // Later output is not read: the pipe is closed, so the child must not print much more on stdout.
  close(fds[0]);
  line.resize(line.find('\n'));
  const std::string prefix = "listening on ";
  if (line.rfind(prefix, 0) != 0) return fail("unexpected first line from " + argv[0] + ": '" + line + "'");
  auto at = net::parse_endpoint(line.substr(prefix.size()));
  if (!at) return fail(argv[0] + " reported a bad address: " + at.error().message);
  child.endpoint_ = *at;
  return child;
}

ListeningChild::ListeningChild(ListeningChild&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)), name_(std::move(other.name_)), endpoint_(std::move(other.endpoint_)) {}

ListeningChild::~ListeningChild() { (void)stop(); }

Result<void> ListeningChild::stop() {
  if (pid_ <= 0) return {};
  const pid_t pid = std::exchange(pid_, -1);
  kill(pid, SIGTERM);
  const auto give_up = Clock::now() + std::chrono::seconds(10);
  int status = 0;
  for (;;) {
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) return fail("waitpid: " + errno_text(errno));
    if (Clock::now() >= give_up) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return fail(name_ + " ignored SIGTERM for 10 s and was killed");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return fail(name_ + " ended abnormally (" + exit_text(status) + ")");
  return {};
}

}  // namespace cardperso::bench
