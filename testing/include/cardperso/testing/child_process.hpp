#pragma once
// One program as a real child process, for tests and benchmarks: posix_spawn (no shell), stdin from
// /dev/null, a pipe or inherited; stdout on a pipe (read line by line with a deadline), into a file or
// inherited; stderr into a file, into the stdout pipe or inherited; extra environment entries and
// extra fds handed to the child. The destructor SIGKILLs and reaps whatever is still running, so a
// failing test leaves nothing behind.
#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "cardperso/common/result.hpp"

namespace cardperso::testing {

using Millis = std::chrono::milliseconds;

// Where one of the child's standard streams goes.
struct Stream {
  enum class Kind { Inherit, Null, Pipe, File, AppendFile, Stdout };
  Kind kind = Kind::Inherit;
  std::string path;  // File (truncated) and AppendFile

  static Stream inherit() { return {Kind::Inherit, {}}; }
  static Stream null() { return {Kind::Null, {}}; }
  static Stream pipe() { return {Kind::Pipe, {}}; }
  static Stream file(std::string path) { return {Kind::File, std::move(path)}; }
  static Stream append_to(std::string path) { return {Kind::AppendFile, std::move(path)}; }
  static Stream same_as_stdout() { return {Kind::Stdout, {}}; }  // stderr only
};

struct ProcessSpec {
  std::vector<std::string> argv;  // argv[0] is the program's path, or its name with search_path
  bool search_path = false;       // look argv[0] up in PATH (a system tool such as socat)
  std::string name;               // for messages; argv[0] when empty
  std::vector<std::string> env;   // extra "NAME=value" entries, replacing inherited ones of that name
  Stream in = Stream::null();     // Null, Pipe (write_stdin) or Inherit
  Stream out = Stream::pipe();    // Pipe, File, AppendFile, Null or Inherit
  Stream err = Stream::inherit();
  // {parent fd, child fd} pairs, e.g. a pipe's read end given to the child as fd 3.
  std::vector<std::pair<int, int>> fd_map;
};

class ChildProcess {
 public:
  // Throws std::runtime_error when the program cannot be started (tests treat it as fatal).
  explicit ChildProcess(ProcessSpec spec);
  // The tests' usual child: stdout read here, stderr appended to stderr_path.
  ChildProcess(std::string name, std::vector<std::string> argv, std::string stderr_path,
               std::vector<std::pair<int, int>> fd_map = {});
  // The same, with the failure as a value (for the benchmarks' command-line tools).
  static Result<std::unique_ptr<ChildProcess>> start(ProcessSpec spec);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Waits until some stdout line (seen before or read now) matches re; returns its submatches
  // (0 = the whole match). nullopt on timeout or when stdout closed without a match.
  std::optional<std::vector<std::string>> wait_for_line(const std::regex& re, Millis timeout);
  // Waits for the next line equal to `line` after those a previous call consumed; the lines looked
  // at are consumed, matching or not (an event stream read once, in order).
  bool wait_for_next_line(const std::string& line, Millis timeout);
  bool has_line(const std::regex& re) const;

  // Exit code (128 + signal for a signal death), reading stdout to its end meanwhile; nullopt on timeout.
  std::optional<int> wait_exit(Millis timeout);
  // SIGTERM, then SIGKILL once `grace` has passed; the exit code, nullopt when it had to be killed.
  std::optional<int> terminate(Millis grace);
  void send_signal(int sig);
  void kill_now();  // SIGKILL and reap
  bool running() const { return pid_ > 0; }
  bool stdout_open() const { return stdout_fd_ >= 0; }
  // After the child ended: the signal that ended it, if one did.
  std::optional<int> exit_signal() const { return exit_signal_; }
  // "exit status N" or "signal NAME", for error messages.
  std::string exit_text() const;

  void write_stdin(const std::string& text);  // in = Pipe; ignored when the child has gone
  // Stops reading stdout: later output the child prints goes nowhere (it gets EPIPE).
  void close_stdout();
  // Reads what is waiting on stdout now, without blocking.
  void drain_stdout();

  const std::string& name() const { return name_; }
  pid_t pid() const { return pid_; }
  const std::vector<std::string>& lines() const { return lines_; }
  std::string stdout_text() const;
  // What the stderr file holds ("" when stderr is not a file).
  std::string stderr_text() const;
  const std::string& stderr_path() const { return stderr_path_; }

 private:
  // Reads what is available within timeout into lines_; false when stdout is closed.
  bool read_more(Millis timeout);
  bool reap(bool block);

  std::string name_;
  std::string stderr_path_;
  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  int stdout_fd_ = -1;
  std::size_t stored_ = 0;  // stdout bytes kept, bounded
  std::string pending_;
  std::vector<std::string> lines_;
  std::size_t next_line_ = 0;  // wait_for_next_line's position
  std::optional<int> exit_code_;
  std::optional<int> exit_signal_;
};

}  // namespace cardperso::testing
