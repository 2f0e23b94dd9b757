#include "server_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <thread>

extern char** environ;

namespace cardperso::bench {
namespace {

using Clock = std::chrono::steady_clock;

Result<std::string> own_executable() {
  char path[4096];
  const ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
  if (n <= 0) return fail(std::string("cannot find this program's path: ") + std::strerror(errno));
  return std::string(path, static_cast<std::size_t>(n));
}

// Reads the first line the child prints, giving up at the deadline or at end of output.
Result<std::string> read_first_line(int fd, Clock::time_point deadline) {
  std::string line;
  while (line.find('\n') == std::string::npos) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return fail("the echo server did not report its port in time");
    pollfd p{fd, POLLIN, 0};
    const int ready = poll(&p, 1, static_cast<int>(left));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;
    char buffer[256];
    const ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail("the echo server exited before reporting its port (see its error above)");
    line.append(buffer, static_cast<std::size_t>(n));
    if (line.size() > 4096) return fail("the echo server printed an over-long first line");
  }
  return line.substr(0, line.find('\n'));
}

}  // namespace

Result<ServerProcess> ServerProcess::start(std::size_t max_connections, std::chrono::milliseconds ready_timeout) {
  auto exe = own_executable();
  if (!exe) return exe.error();
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) return fail(std::string("pipe: ") + std::strerror(errno));

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  std::string limit = std::to_string(max_connections);
  std::string mode = "server", listen_flag = "--listen", listen = "127.0.0.1:0", max_flag = "--max-connections";
  char* argv[] = {exe->data(), mode.data(), listen_flag.data(), listen.data(), max_flag.data(), limit.data(), nullptr};
  pid_t pid = -1;
  const int spawned = posix_spawn(&pid, exe->c_str(), &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  close(pipe_fds[1]);
  if (spawned != 0) {
    close(pipe_fds[0]);
    return fail("cannot start the echo server " + *exe + ": " + std::strerror(spawned));
  }
  ServerProcess child(pid, {});
  auto line = read_first_line(pipe_fds[0], Clock::now() + ready_timeout);
  close(pipe_fds[0]);  // the server prints nothing after this line
  if (!line) return line.error();
  const std::string prefix = "listening on ";
  if (line->rfind(prefix, 0) != 0) return fail("unexpected first line from the echo server: '" + *line + "'");
  auto at = net::parse_endpoint(line->substr(prefix.size()));
  if (!at) return fail("the echo server reported a bad address: " + at.error().message);
  child.endpoint_ = *at;
  return child;
}

ServerProcess::ServerProcess(ServerProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)), endpoint_(std::move(other.endpoint_)) {}

ServerProcess::~ServerProcess() { (void)stop(); }

Result<void> ServerProcess::stop() {
  if (pid_ <= 0) return {};
  const pid_t pid = std::exchange(pid_, -1);
  kill(pid, SIGTERM);
  const auto give_up = Clock::now() + std::chrono::seconds(5);
  int status = 0;
  for (;;) {
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) return fail(std::string("waitpid: ") + std::strerror(errno));
    if (Clock::now() >= give_up) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return fail("the echo server ignored SIGTERM for 5 s and was killed");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return fail("the echo server ended abnormally (status " + std::to_string(status) + ")");
  return {};
}

}  // namespace cardperso::bench
