#pragma once
// CPU time and memory of a process, read from /proc (Linux): what the load generator reports for
// the ads-server and the echo benchmark for its echo server, both separate processes.
//   /proc/<pid>/stat    fields 14 utime and 15 stime, in clock ticks (sysconf(_SC_CLK_TCK))
//   /proc/<pid>/status  VmHWM (peak resident set) and VmRSS, in kB
#include <sys/types.h>

#include <cstdint>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "cardperso/common/result.hpp"

namespace cardperso::bench {

struct CpuTimes {
  double user_seconds = 0;
  double system_seconds = 0;
  double total_seconds() const { return user_seconds + system_seconds; }
};

struct MemoryUsage {
  std::uint64_t peak_rss_kib = 0;  // VmHWM
  std::uint64_t rss_kib = 0;       // VmRSS
};

struct ProcessStats {
  CpuTimes cpu;
  MemoryUsage memory;
};

// The text of /proc/<pid>/stat. The command name (field 2) is in parentheses and may itself hold
// spaces and ')', so fields are counted from the last ')'.
Result<CpuTimes> parse_proc_stat(std::string_view stat_text, long ticks_per_second);
// The text of /proc/<pid>/status. VmHWM is required; VmRSS is 0 when absent.
Result<MemoryUsage> parse_proc_status(std::string_view status_text);

// Both files of a live process (a zombie has no VmHWM any more: read before reaping it).
Result<ProcessStats> read_process_stats(pid_t pid);

// CPU used between two readings of the same process.
CpuTimes cpu_between(const CpuTimes& before, const CpuTimes& after);

// {"cpu_user_s":..,"cpu_sys_s":..,"cpu_s":..}
nlohmann::json to_json(const CpuTimes& cpu);

}  // namespace cardperso::bench
