#pragma once
// Invariant checks for the fuzz targets: a broken invariant must abort so libFuzzer keeps the input
// as a crash, like a sanitizer report would. assert() is not used because RelWithDebInfo defines NDEBUG.
#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond, what)                                                                    \
  do {                                                                                            \
    if (!(cond)) {                                                                                \
      std::fprintf(stderr, "fuzz invariant broken at %s:%d: %s [%s]\n", __FILE__, __LINE__, what, \
                   #cond);                                                                        \
      std::abort();                                                                               \
    }                                                                                             \
  } while (0)
