#include "cardperso/testing/listening_child.hpp"

namespace cardperso::testing {

namespace {
const std::regex kFirstLine("^(.*)$");
}

Result<ListeningChild> ListeningChild::start(const std::vector<std::string>& argv, Millis ready_timeout,
                                             Millis stop_grace, std::string name) {
  ProcessSpec spec;
  spec.argv = argv;
  spec.name = name.empty() ? argv.at(0) : std::move(name);
  spec.in = Stream::inherit();
  auto started = ChildProcess::start(std::move(spec));
  if (!started) return started.error();
  ListeningChild child(std::move(*started), stop_grace);
  const std::string& who = child.child_->name();
  auto first = child.child_->wait_for_line(kFirstLine, ready_timeout);
  if (!first) {
    if (!child.child_->stdout_open())
      return fail(who + " exited before reporting its port (see its errors above)");
    return fail(who + " did not report its port within " + std::to_string(ready_timeout.count()) + " ms");
  }
  // Later output is not read: the child must not print much more on stdout.
  child.child_->close_stdout();
  const std::string line = child.child_->lines().front();
  if (line.size() > 4096) return fail(who + " printed an over-long first line");
  const std::string prefix = "listening on ";
  if (line.rfind(prefix, 0) != 0) return fail("unexpected first line from " + who + ": '" + line + "'");
  auto at = net::parse_endpoint(line.substr(prefix.size()));
  if (!at) return fail(who + " reported a bad address: " + at.error().message);
  child.endpoint_ = *at;
  return child;
}

ListeningChild::~ListeningChild() { (void)stop(); }

Result<void> ListeningChild::stop() {
  if (!child_ || !child_->running()) return {};
  const auto code = child_->terminate(grace_);
  if (!code)
    return fail(child_->name() + " ignored SIGTERM for " + std::to_string(grace_.count() / 1000) + " s and was killed");
  if (*code != 0 || child_->exit_signal()) return fail(child_->name() + " ended abnormally (" + child_->exit_text() + ")");
  return {};
}

}  // namespace cardperso::testing
