#pragma once
// Called first thing in main() of every program that holds keys or PINs: no core dumps (RLIMIT_CORE
// 0), not dumpable and so not ptrace-able by other processes of the same user (PR_SET_DUMPABLE 0),
// and OpenSSL's secure heap for SecretBytes (mlock'ed, MADV_DONTDUMP, guard pages) where the
// memory-lock limit allows it. Nothing here stops the program: a step that fails is reported in the
// result (the caller logs it at info once logging is up) and the program carries on.
#include <cstddef>
#include <string>

namespace cardperso {

struct HardeningOptions {
  // Secure heap size; rounded down to a power of two and shrunk to fit RLIMIT_MEMLOCK. 0: none.
  // 8 MiB holds the session keys of well over 10,000 concurrent ADS sessions (16-byte blocks).
  std::size_t secure_heap_bytes = std::size_t{8} << 20;
  std::size_t secure_heap_min_block = 16;  // smallest allocation (a power of two)
};

struct HardeningReport {
  bool core_dumps_off = false;
  bool not_dumpable = false;
  std::size_t secure_heap_bytes = 0;  // 0: none (SecretBytes use the normal heap, still wiped)
  bool secure_heap_locked = false;    // mlock'ed (else the heap exists but may be swapped)
  std::string notes;                  // what did not work and why, for one info line; empty: all did
};

HardeningReport harden_process(const HardeningOptions& options = {});

// What the last harden_process() call did (all false/0 before any call).
HardeningReport last_hardening_report();

// Logs describe(report) once logging is set up: at info when something did not work, else at debug.
void log_hardening(const HardeningReport& report);

// One line for the log: "core dumps off, not dumpable, secure heap 8 MiB (locked)" plus the notes.
std::string describe(const HardeningReport& report);

}  // namespace cardperso
