#include "cardperso/testing/run_program.hpp"

#include <fstream>
#include <sstream>

namespace cardperso::testing {

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

RunResult run_program(ProcessSpec spec, Millis timeout) {
  spec.out = Stream::pipe();
  ChildProcess child(std::move(spec));
  RunResult result;
  result.exit_code = child.wait_exit(timeout);
  if (!result.exit_code) child.kill_now();
  result.exit_text = child.exit_text();
  result.out = child.stdout_text();
  result.err = child.stderr_text();
  return result;
}

RunResult run_program(std::vector<std::string> argv, const std::string& stderr_path, Millis timeout) {
  ProcessSpec spec;
  spec.argv = std::move(argv);
  spec.err = Stream::append_to(stderr_path);
  return run_program(std::move(spec), timeout);
}

CommandRun run_command(const std::string& program, const std::vector<std::string>& args,
                       const std::string& stderr_path, std::string* transcript, Millis timeout) {
  ProcessSpec spec;
  spec.argv = {program};
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  spec.in = Stream::inherit();
  spec.err = Stream::file(stderr_path);
  auto ran = run_program(std::move(spec), timeout);
  if (transcript != nullptr) *transcript += ran.out + ran.err;
  return CommandRun{ran.exit_code.value_or(-1), std::move(ran.out), std::move(ran.err)};
}

Result<std::string> run_to_success(const std::vector<std::string>& argv, Millis timeout) {
  ProcessSpec spec;
  spec.argv = argv;
  spec.err = Stream::same_as_stdout();
  auto child = ChildProcess::start(std::move(spec));
  if (!child) return child.error();
  const auto code = (*child)->wait_exit(timeout);
  if (!code) {
    (*child)->kill_now();
    return fail(argv[0] + " did not finish within " + std::to_string(timeout.count()) + " ms");
  }
  if (*code != 0) {
    std::string args;
    for (std::size_t i = 1; i < argv.size() && i < 4; ++i) args += " " + argv[i];
    return fail(argv[0] + args + " failed (" + (*child)->exit_text() + "): " + (*child)->stdout_text());
  }
  return (*child)->stdout_text();
}

}  // namespace cardperso::testing
