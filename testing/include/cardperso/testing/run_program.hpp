#pragma once
// Runs a program to its end (adsctl, cardperso-mkcards, a server's --help) and keeps its output.
#include <optional>
#include <string>
#include <vector>

#include "cardperso/common/result.hpp"
#include "cardperso/testing/child_process.hpp"

namespace cardperso::testing {

struct RunResult {
  std::optional<int> exit_code;  // nullopt: killed after the timeout
  std::string out;
  std::string err;  // what the stderr file holds afterwards ("" when stderr was not a file)
  std::string exit_text;
};

// spec.out is read through a pipe whatever it says.
RunResult run_program(ProcessSpec spec, Millis timeout = Millis(20000));
// stdout captured, stderr appended to stderr_path.
RunResult run_program(std::vector<std::string> argv, const std::string& stderr_path, Millis timeout = Millis(20000));

// A command as typed at a terminal: stdin inherited, stdout captured, stderr written to stderr_path
// (truncated first) and read back. exit_code: 128 + signal for a signal death, -1 when it was killed
// after the timeout. Both outputs are appended to *transcript when given (for secret scans).
struct CommandRun {
  int exit_code = -1;
  std::string out, err;
};
CommandRun run_command(const std::string& program, const std::vector<std::string>& args,
                       const std::string& stderr_path, std::string* transcript = nullptr,
                       Millis timeout = Millis(300000));

// stdout and stderr captured together; fails (with the output) when the program cannot start,
// exceeds `timeout` (then it is killed) or exits other than 0.
Result<std::string> run_to_success(const std::vector<std::string>& argv, Millis timeout);

// Reads a whole file ("" when missing).
std::string read_text_file(const std::string& path);

}  // namespace cardperso::testing
