#pragma once
// One program under test as a real process: posix_spawn with stdout on a pipe (read line by line with
// a deadline), stderr into a file, optional extra pipe fds handed to the child. The destructor
// SIGKILLs and reaps whatever is still running, so a failing test leaves nothing behind.
#include <sys/types.h>

#include <chrono>
#include <optional>
#include <regex>
#include <string>
#include <utility>
#include <vector>

namespace cardperso::e2e {

using Millis = std::chrono::milliseconds;

class ChildProcess {
 public:
  // argv[0] is the program path. stderr_path receives the child's stderr. fd_map: {parent fd, child fd}
  // pairs, e.g. a pipe's read end given to the child as fd 3 (for --keypad-script fd:3).
  ChildProcess(std::string name, std::vector<std::string> argv, std::string stderr_path,
               std::vector<std::pair<int, int>> fd_map = {});
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Waits until some stdout line (seen before or read now) matches re; returns its submatches
  // (0 = the whole match). nullopt on timeout or when stdout closed without a match.
  std::optional<std::vector<std::string>> wait_for_line(const std::regex& re, Millis timeout);
  // Exit code (128 + signal for a signal death), reading stdout to its end meanwhile; nullopt on timeout.
  std::optional<int> wait_exit(Millis timeout);
  void send_signal(int sig);
  void kill_now();  // SIGKILL and reap
  bool has_line(const std::regex& re) const;

  const std::string& name() const { return name_; }
  pid_t pid() const { return pid_; }
  const std::vector<std::string>& lines() const { return lines_; }
  std::string stdout_text() const;
  std::string stderr_text() const;
  const std::string& stderr_path() const { return stderr_path_; }

 private:
  // Reads what is available within timeout into lines_; false when stdout is closed.
  bool read_more(Millis timeout);
  bool reap(bool block);

  std::string name_;
  std::string stderr_path_;
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  bool stdout_open_ = false;
  std::string pending_;
  std::vector<std::string> lines_;
  std::optional<int> exit_code_;
};

// Runs a program to its end (for adsctl, cardperso-mkcards). exit_code nullopt = killed after timeout.
struct RunResult {
  std::optional<int> exit_code;
  std::string out;
  std::string err;
};
RunResult run_program(std::vector<std::string> argv, const std::string& stderr_path, Millis timeout = Millis(20000));

// Reads a whole file ("" when missing).
std::string read_text_file(const std::string& path);

}  // namespace cardperso::e2e
