#include "cardperso/testing/card_sim_process.hpp"

namespace cardperso::testing {

namespace {

ProcessSpec card_sim_spec(std::string program, std::string image, int port, std::vector<std::string> extra_args,
                          const std::string& stderr_path) {
  ProcessSpec spec;
  spec.argv = {std::move(program), "--image", std::move(image), "--vpcd-port", std::to_string(port), "--log-level", "warn"};
  spec.argv.insert(spec.argv.end(), extra_args.begin(), extra_args.end());
  spec.in = Stream::pipe();
  if (!stderr_path.empty()) spec.err = Stream::append_to(stderr_path);
  return spec;
}

}  // namespace

CardSimProcess::CardSimProcess(std::string program, std::string image, int port, std::vector<std::string> extra_args,
                               const std::string& stderr_path)
    : child_(card_sim_spec(std::move(program), std::move(image), port, std::move(extra_args), stderr_path)) {}

CardSimProcess::~CardSimProcess() { terminate(); }

bool CardSimProcess::wait_for_event(const std::string& event, std::chrono::milliseconds timeout) {
  return child_.wait_for_next_line(event, timeout);
}

std::string CardSimProcess::output() {
  child_.drain_stdout();
  return child_.stdout_text();
}

void CardSimProcess::send_command(const std::string& line) { child_.write_stdin(line + "\n"); }

int CardSimProcess::terminate() {
  if (!child_.running()) return -1;
  const auto code = child_.terminate(std::chrono::seconds(2));
  return code && !child_.exit_signal() ? *code : -1;
}

void CardSimProcess::kill_hard() { child_.kill_now(); }

}  // namespace cardperso::testing
