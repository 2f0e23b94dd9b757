// /proc parsing on recorded texts (odd command names, truncation, bad numbers) and on this very
// process, where CPU time and peak RSS must grow after work that uses them.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <memory>

#include "process_stats.hpp"

using namespace cardperso;
using namespace cardperso::bench;

namespace {

// A /proc/<pid>/stat line of a process whose name holds spaces and a ')'.
const char* const kStat =
    "4242 (my (odd) prog) S 1 4242 4242 0 -1 4194560 1234 0 5 0 250 75 0 0 20 0 1 0 99999 12345678 900 "
    "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";

const char* const kStatus =
    "Name:\tads-server\n"
    "Umask:\t0022\n"
    "State:\tS (sleeping)\n"
    "VmPeak:\t  123456 kB\n"
    "VmHWM:\t   20480 kB\n"
    "VmRSS:\t   18000 kB\n"
    "Threads:\t1\n";

}  // namespace

TEST(ProcStat, ReadsUtimeAndStimeAfterTheLastParenthesis) {
  auto cpu = parse_proc_stat(kStat, 100);
  ASSERT_TRUE(cpu) << cpu.error().message;
  EXPECT_DOUBLE_EQ(cpu->user_seconds, 2.5);
  EXPECT_DOUBLE_EQ(cpu->system_seconds, 0.75);
  EXPECT_DOUBLE_EQ(cpu->total_seconds(), 3.25);
  auto at_1000 = parse_proc_stat(kStat, 1000);
  ASSERT_TRUE(at_1000);
  EXPECT_DOUBLE_EQ(at_1000->user_seconds, 0.25);
}

TEST(ProcStat, RejectsTruncatedAndMalformedText) {
  auto cut = parse_proc_stat("4242 (prog) S 1 4242 4242 0 -1 4194560 1234 0 5 0 250", 100);
  ASSERT_FALSE(cut);
  EXPECT_NE(cut.error().message.find("utime"), std::string::npos) << cut.error().message;

  auto no_paren = parse_proc_stat("4242 prog S 1 2 3", 100);
  ASSERT_FALSE(no_paren);
  EXPECT_NE(no_paren.error().message.find(")"), std::string::npos);

  auto bad = parse_proc_stat("1 (p) S 1 1 1 0 -1 0 0 0 0 0 2x0 75 0", 100);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("utime is not a number"), std::string::npos) << bad.error().message;

  EXPECT_FALSE(parse_proc_stat(kStat, 0));
}

TEST(ProcStatus, ReadsPeakAndCurrentResidentSet) {
  auto memory = parse_proc_status(kStatus);
  ASSERT_TRUE(memory) << memory.error().message;
  EXPECT_EQ(memory->peak_rss_kib, 20480u);
  EXPECT_EQ(memory->rss_kib, 18000u);
}

TEST(ProcStatus, VmHwmIsRequiredAndMustBeInKilobytes) {
  auto missing = parse_proc_status("Name:\tzombie\nState:\tZ (zombie)\n");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("VmHWM missing"), std::string::npos) << missing.error().message;

  auto no_unit = parse_proc_status("VmHWM:\t 20480\n");
  ASSERT_FALSE(no_unit);
  EXPECT_NE(no_unit.error().message.find("kB"), std::string::npos);

  // A key that merely starts like VmHWM is not it.
  EXPECT_FALSE(parse_proc_status("VmHWMX:\t 1 kB\n"));
}

TEST(ProcessStats, ThisProcessGrowsInCpuAndPeakMemory) {
  auto before = read_process_stats(getpid());
  ASSERT_TRUE(before) << before.error().message;
  EXPECT_GT(before->memory.peak_rss_kib, 0u);
  EXPECT_GE(before->memory.peak_rss_kib, before->memory.rss_kib);

  // Touch 64 MiB: the high-water mark must rise by about that much.
  constexpr std::size_t kBytes = 64u << 20;
  auto block = std::make_unique<char[]>(kBytes);
  std::memset(block.get(), 0x5a, kBytes);
  volatile char sink = block[kBytes / 2];
  (void)sink;

  // Burn CPU until the kernel has accounted at least 50 ms (ticks are 10 ms), at most 10 s of wall time.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  volatile std::uint64_t x = 1;
  Result<ProcessStats> after = fail("not read");
  do {
    for (int i = 0; i < 1'000'000; ++i) x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    after = read_process_stats(getpid());
    ASSERT_TRUE(after) << after.error().message;
  } while (cpu_between(before->cpu, after->cpu).total_seconds() < 0.05 && std::chrono::steady_clock::now() < give_up);

  EXPECT_GE(cpu_between(before->cpu, after->cpu).total_seconds(), 0.05);
  EXPECT_GE(after->memory.peak_rss_kib, before->memory.peak_rss_kib + 60'000);
}

TEST(ProcessStats, AReapedProcessIsAClearError) {
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) _exit(0);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  auto gone = read_process_stats(child);
  ASSERT_FALSE(gone);
  EXPECT_NE(gone.error().message.find("still running"), std::string::npos) << gone.error().message;
}
