#include "disk_baseline.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <vector>

namespace cardperso::bench {

Result<LatencySummary> measure_flush_latency(const std::string& dir, std::size_t flushes) {
  const std::string path = dir + "/flush-probe";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return fail("cannot create " + path + ": " + std::strerror(errno));
  const std::vector<char> page(4096, 'x');
  LatencyHistogram h;
  std::string failure;
  for (std::size_t i = 0; i < flushes && failure.empty(); ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    if (::write(fd, page.data(), page.size()) != static_cast<ssize_t>(page.size()))
      failure = std::string("write: ") + std::strerror(errno);
    else if (::fdatasync(fd) != 0)
      failure = std::string("fdatasync: ") + std::strerror(errno);
    h.record(std::chrono::steady_clock::now() - t0);
  }
  ::close(fd);
  ::unlink(path.c_str());
  if (!failure.empty()) return fail("flush probe in " + dir + ": " + failure);
  return h.summary();
}

}  // namespace cardperso::bench
