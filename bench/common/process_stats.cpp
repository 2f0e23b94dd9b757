#include "process_stats.hpp"

#include <unistd.h>

#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

namespace cardperso::bench {
namespace {

Result<std::uint64_t> parse_number(std::string_view text, std::string_view what) {
  std::uint64_t value = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc{} || ptr != end || text.empty())
    return fail(std::string(what) + " is not a number: '" + std::string(text.substr(0, 32)) + "'");
  return value;
}

Result<std::string> read_whole(const std::string& path) {
  std::ifstream in(path);
  if (!in) return fail("cannot read " + path + "; is the process still running?");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The value of a "Key:   1234 kB" line of /proc/<pid>/status, if the key is there.
Result<std::uint64_t> status_kib(std::string_view status, std::string_view key, bool required) {
  std::size_t at = 0;
  while (at < status.size()) {
    const std::size_t eol = std::min(status.find('\n', at), status.size());
    std::string_view line = status.substr(at, eol - at);
    at = eol + 1;
    if (line.size() <= key.size() || line.substr(0, key.size()) != key || line[key.size()] != ':') continue;
    line.remove_prefix(key.size() + 1);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (line.size() < 3 || line.substr(line.size() - 3) != " kB")
      return fail(std::string(key) + " in /proc status has no 'kB' unit");
    return parse_number(line.substr(0, line.size() - 3), key);
  }
  if (required) return fail(std::string(key) + " missing from /proc status (a zombie or kernel thread?)");
  return std::uint64_t{0};
}

}  // namespace

Result<CpuTimes> parse_proc_stat(std::string_view stat_text, long ticks_per_second) {
  if (ticks_per_second <= 0) return fail("clock ticks per second must be positive");
  const std::size_t close = stat_text.rfind(')');
  if (close == std::string_view::npos) return fail("/proc stat has no ')' after the command name");
  // After ")": field 3 (state) is the first; utime is field 14, stime field 15.
  std::string_view rest = stat_text.substr(close + 1);
  std::string_view fields[13];
  std::size_t found = 0;
  while (found < 13) {
    while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\n')) rest.remove_prefix(1);
    if (rest.empty()) break;
    const std::size_t end = std::min(rest.find_first_of(" \n"), rest.size());
    fields[found++] = rest.substr(0, end);
    rest.remove_prefix(end);
  }
  if (found < 13) return fail("/proc stat ends before the utime and stime fields");
  auto utime = parse_number(fields[11], "utime");
  if (!utime) return utime.error();
  auto stime = parse_number(fields[12], "stime");
  if (!stime) return stime.error();
  const auto ticks = static_cast<double>(ticks_per_second);
  return CpuTimes{static_cast<double>(*utime) / ticks, static_cast<double>(*stime) / ticks};
}

Result<MemoryUsage> parse_proc_status(std::string_view status_text) {
  auto hwm = status_kib(status_text, "VmHWM", true);
  if (!hwm) return hwm.error();
  auto rss = status_kib(status_text, "VmRSS", false);
  if (!rss) return rss.error();
  return MemoryUsage{*hwm, *rss};
}

Result<ProcessStats> read_process_stats(pid_t pid) {
  const std::string dir = "/proc/" + std::to_string(pid);
  auto stat = read_whole(dir + "/stat");
  if (!stat) return stat.error();
  auto status = read_whole(dir + "/status");
  if (!status) return status.error();
  auto cpu = parse_proc_stat(*stat, sysconf(_SC_CLK_TCK));
  if (!cpu) return fail(dir + "/stat: " + cpu.error().message);
  auto memory = parse_proc_status(*status);
  if (!memory) return fail(dir + "/status: " + memory.error().message);
  return ProcessStats{*cpu, *memory};
}

CpuTimes cpu_between(const CpuTimes& before, const CpuTimes& after) {
  return CpuTimes{after.user_seconds - before.user_seconds, after.system_seconds - before.system_seconds};
}

nlohmann::json to_json(const CpuTimes& cpu) {
  auto ms = [](double seconds) { return std::round(seconds * 1000) / 1000; };
  return nlohmann::json{
      {"cpu_user_s", ms(cpu.user_seconds)}, {"cpu_sys_s", ms(cpu.system_seconds)}, {"cpu_s", ms(cpu.total_seconds())}};
}

}  // namespace cardperso::bench
