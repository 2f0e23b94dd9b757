#include "cardperso/testing/child_process.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>

#include "cardperso/testing/listening_child.hpp"
#include "cardperso/testing/run_program.hpp"

namespace cardperso::testing {
namespace {

using namespace std::chrono_literals;

ProcessSpec shell(const std::string& script) {
  ProcessSpec spec;
  spec.argv = {"/bin/sh", "-c", script};
  return spec;
}

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / (name + "-" + std::to_string(::getpid()))).string();
}

TEST(ChildProcess, ReportsTheExitCode) {
  ProcessSpec spec;
  spec.argv = {"true"};
  spec.search_path = true;
  ChildProcess ok(std::move(spec));
  EXPECT_EQ(ok.wait_exit(10s), 0);
  ChildProcess seven(shell("exit 7"));
  EXPECT_EQ(seven.wait_exit(10s), 7);
  EXPECT_EQ(seven.exit_text(), "exit status 7");
  EXPECT_FALSE(seven.exit_signal());
}

TEST(ChildProcess, CapturesStdoutLinesAndStderrInAFile) {
  const std::string err = temp_path("child-err");
  std::filesystem::remove(err);
  ChildProcess child("sh", {"/bin/sh", "-c", "echo one; echo two >&2; echo three"}, err);
  EXPECT_EQ(child.wait_exit(10s), 0);
  EXPECT_EQ(child.lines(), (std::vector<std::string>{"one", "three"}));
  EXPECT_EQ(child.stdout_text(), "one\nthree\n");
  EXPECT_EQ(child.stderr_text(), "two\n");
  std::filesystem::remove(err);
}

TEST(ChildProcess, StderrCanJoinStdout) {
  auto spec = shell("echo out; echo err >&2");
  spec.err = Stream::same_as_stdout();
  ChildProcess child(std::move(spec));
  EXPECT_EQ(child.wait_exit(10s), 0);
  EXPECT_EQ(child.lines(), (std::vector<std::string>{"out", "err"}));
}

TEST(ChildProcess, PassesExtraEnvironment) {
  auto spec = shell("echo \"$CARDPERSO_TESTING_PROBE\"");
  spec.env = {"CARDPERSO_TESTING_PROBE=42"};
  ChildProcess child(std::move(spec));
  auto line = child.wait_for_line(std::regex("^(\\d+)$"), 10s);
  ASSERT_TRUE(line);
  EXPECT_EQ(line->at(1), "42");
}

TEST(ChildProcess, WaitTimesOutAndKillEndsIt) {
  ChildProcess child(shell("exec sleep 30"));
  EXPECT_FALSE(child.wait_exit(100ms));
  EXPECT_TRUE(child.running());
  child.kill_now();
  EXPECT_FALSE(child.running());
  EXPECT_EQ(child.exit_signal(), SIGKILL);
  EXPECT_EQ(child.wait_exit(0ms), 128 + SIGKILL);
}

TEST(ChildProcess, TerminateSendsSigtermFirst) {
  ChildProcess polite(shell("trap 'exit 3' TERM; echo ready; while :; do sleep 0.05; done"));
  ASSERT_TRUE(polite.wait_for_line(std::regex("^ready$"), 10s));
  EXPECT_EQ(polite.terminate(5s), 3);
  ChildProcess stubborn(shell("trap '' TERM; echo ready; while :; do sleep 0.05; done"));
  ASSERT_TRUE(stubborn.wait_for_line(std::regex("^ready$"), 10s));
  EXPECT_FALSE(stubborn.terminate(200ms)) << "ignored SIGTERM, so it had to be killed";
  EXPECT_EQ(stubborn.exit_signal(), SIGKILL);
}

TEST(ChildProcess, StdinPipeAndEventsReadInOrder) {
  ProcessSpec spec;
  spec.argv = {"/bin/cat"};
  spec.in = Stream::pipe();
  ChildProcess cat(std::move(spec));
  cat.write_stdin("a\nb\na\n");
  EXPECT_TRUE(cat.wait_for_next_line("a", 10s));
  EXPECT_TRUE(cat.wait_for_next_line("a", 10s)) << "the second a, after b";
  EXPECT_FALSE(cat.wait_for_next_line("b", 100ms)) << "b was consumed on the way";
}

TEST(ChildProcess, AMissingProgramIsAnError) {
  ProcessSpec spec;
  spec.argv = {"/nonexistent/program"};
  auto started = ChildProcess::start(spec);
  // posix_spawn may report the failed exec as exit status 127 instead of an error.
  if (started) {
    EXPECT_EQ((*started)->wait_exit(10s), 127);
  }
}

TEST(RunProgram, CollectsOutputAndExitCode) {
  const std::string err = temp_path("run-err");
  std::filesystem::remove(err);
  auto r = run_program({"/bin/sh", "-c", "echo hi; echo oops >&2; exit 4"}, err);
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_EQ(r.out, "hi\n");
  EXPECT_EQ(r.err, "oops\n");
  std::filesystem::remove(err);
  EXPECT_FALSE(run_program(shell("exec sleep 30"), 100ms).exit_code) << "killed after the timeout";
}

TEST(RunToSuccess, FailsWithTheOutputUnlessStatusZero) {
  auto ok = run_to_success({"/bin/sh", "-c", "echo fine"}, 10s);
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok, "fine\n");
  auto bad = run_to_success({"/bin/sh", "-c", "echo broken >&2; exit 2"}, 10s);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("exit status 2"), std::string::npos) << bad.error().message;
  EXPECT_NE(bad.error().message.find("broken"), std::string::npos) << bad.error().message;
  auto slow = run_to_success({"/bin/sh", "-c", "exec sleep 30"}, 100ms);
  ASSERT_FALSE(slow);
  EXPECT_NE(slow.error().message.find("did not finish"), std::string::npos);
}

TEST(ListeningChild, ReadsThePortAndStopsCleanly) {
  auto server = ListeningChild::start(
      {"/bin/sh", "-c", "trap 'exit 0' TERM; echo 'listening on 127.0.0.1:5555'; while :; do sleep 0.05; done"}, 10s);
  ASSERT_TRUE(server) << server.error().message;
  EXPECT_EQ(server->endpoint().port, 5555);
  EXPECT_GT(server->pid(), 0);
  EXPECT_TRUE(server->stop());
  auto mute = ListeningChild::start({"/bin/sh", "-c", "exit 1"}, 10s);
  ASSERT_FALSE(mute);
  EXPECT_NE(mute.error().message.find("exited before reporting its port"), std::string::npos) << mute.error().message;
}

}  // namespace
}  // namespace cardperso::testing
