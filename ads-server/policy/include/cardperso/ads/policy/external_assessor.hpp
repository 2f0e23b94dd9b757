#pragma once
// An issuer's own go/no-go program: it gets the customer details JSON on stdin; exit status 0 means go,
// anything else no-go with its first stdout line as the reason. It is started with posix_spawn (no
// shell, argv[0] an absolute path, a minimal environment, stderr to /dev/null) in its own process
// group, and the group is killed (SIGKILL) when it has not finished within the timeout.
// This call blocks for up to the timeout: run it off any event loop.
#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "cardperso/common/result.hpp"

namespace cardperso::ads::policy {

struct ExternalCommand {
  std::vector<std::string> argv;  // argv[0]: absolute path of the program
  std::chrono::milliseconds timeout{std::chrono::seconds(5)};
};

struct ExternalVerdict {
  bool go = false;
  std::string reason;  // the first stdout line (printable, at most kMaxReason), or what went wrong
  bool timed_out = false;
};

inline constexpr std::size_t kMaxReason = 200;

// An error when the program could not be started at all.
Result<ExternalVerdict> run_external_assessment(const ExternalCommand& command, std::string_view details_json);

}  // namespace cardperso::ads::policy
