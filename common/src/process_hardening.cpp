#include "cardperso/common/process_hardening.hpp"

#include <openssl/crypto.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>

namespace cardperso {

namespace {

std::mutex report_mutex;
HardeningReport last_report;

void note(HardeningReport& r, const std::string& what) { r.notes += (r.notes.empty() ? "" : "; ") + what; }

std::size_t floor_power_of_two(std::size_t n) {
  std::size_t p = 1;
  while (p <= n / 2) p *= 2;
  return n == 0 ? 0 : p;
}

// The largest heap within both the request and the memory-lock limit. OpenSSL's secure heap mlocks
// its arena plus a guard page on each side, and mlock may need a little more than the arena, so
// a quarter of the limit is left for that and for anything else the process locks.
std::size_t fitting_heap(std::size_t wanted, HardeningReport& r) {
  rlimit lock{};
  if (getrlimit(RLIMIT_MEMLOCK, &lock) != 0 || lock.rlim_cur == RLIM_INFINITY) return floor_power_of_two(wanted);
  const auto budget = static_cast<std::size_t>(lock.rlim_cur) / 4 * 3;
  const std::size_t size = floor_power_of_two(std::min(wanted, budget));
  if (size < wanted)
    note(r, "secure heap reduced to " + std::to_string(size >> 10) + " KiB by RLIMIT_MEMLOCK (" +
                std::to_string(lock.rlim_cur >> 10) + " KiB)");
  return size;
}

}  // namespace

static HardeningReport harden_secure_heap(const HardeningOptions& options, HardeningReport r);

HardeningReport harden_process(const HardeningOptions& options) {
  HardeningReport r;
  const rlimit no_core{0, 0};
  if (setrlimit(RLIMIT_CORE, &no_core) == 0) r.core_dumps_off = true;
  else note(r, std::string("cannot set RLIMIT_CORE to 0: ") + std::strerror(errno));
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0) r.not_dumpable = true;
  else note(r, std::string("cannot clear PR_SET_DUMPABLE: ") + std::strerror(errno));
  r = harden_secure_heap(options, std::move(r));
  std::lock_guard lock(report_mutex);
  last_report = r;
  return r;
}

HardeningReport last_hardening_report() {
  std::lock_guard lock(report_mutex);
  return last_report;
}

void log_hardening(const HardeningReport& report) {
  if (report.notes.empty()) spdlog::debug("process hardening: {}", describe(report));
  else spdlog::info("process hardening: {}", describe(report));
}

static HardeningReport harden_secure_heap(const HardeningOptions& options, HardeningReport r) {
  if (options.secure_heap_bytes == 0 || CRYPTO_secure_malloc_initialized() != 0) return r;
  const std::size_t min_block = floor_power_of_two(std::max<std::size_t>(options.secure_heap_min_block, 16));
  const std::size_t size = fitting_heap(options.secure_heap_bytes, r);
  if (size < 4 * min_block || size < 4096) {
    note(r, "no secure heap: RLIMIT_MEMLOCK leaves no room; secrets stay on the normal heap (wiped after use)");
    return r;
  }
  // 1: ready and locked; 2: ready, but mlock or MADV_DONTDUMP failed; 0: not set up.
  const int rc = CRYPTO_secure_malloc_init(size, min_block);
  if (rc == 0) {
    note(r, "no secure heap: CRYPTO_secure_malloc_init failed; secrets stay on the normal heap (wiped after use)");
    return r;
  }
  r.secure_heap_bytes = size;
  r.secure_heap_locked = rc == 1;
  if (rc != 1) note(r, "secure heap not locked in memory (mlock refused); it may be swapped out");
  return r;
}

std::string describe(const HardeningReport& r) {
  std::string s = std::string(r.core_dumps_off ? "core dumps off" : "core dumps possible") + ", " +
                  (r.not_dumpable ? "not dumpable" : "dumpable") + ", ";
  if (r.secure_heap_bytes == 0) s += "no secure heap";
  else s += "secure heap " + std::to_string(r.secure_heap_bytes >> 10) + " KiB" + (r.secure_heap_locked ? " (locked)" : " (not locked)");
  if (!r.notes.empty()) s += " — " + r.notes;
  return s;
}

}  // namespace cardperso
