#pragma once
// One logging set-up for the three programs. Secrets never reach a log: the types that hold them
// (SecretBytes) have no formatter, and code logs serials, lengths and status words only.
#include <spdlog/spdlog.h>

#include <string>

namespace cardperso {

// level: trace, debug, info, warn, error. file empty = stderr only.
void init_logging(const std::string& program, const std::string& level, const std::string& file = {});

}  // namespace cardperso
