#pragma once
// The start of every program that logs: the log opened as the command line asked, the process
// hardening reported in it, and the program's body run with an escaped exception turned into a
// logged internal error (exit 2) instead of an abort.
#include <functional>
#include <string>

#include "cardperso/cli/log_options.hpp"
#include "cardperso/common/process_hardening.hpp"

namespace cardperso::cli {

// A log file that cannot be opened is a usage error (exit 1), reported on stderr.
int run_logged(const std::string& program, const LogOptions& log, const HardeningReport& hardening,
               const std::function<int()>& body);

}  // namespace cardperso::cli
