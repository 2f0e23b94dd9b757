#pragma once
// One logging set-up for the three programs. Secrets never reach a log: the types that hold them
// (SecretBytes) have no formatter, and code logs serials, lengths and status words only.
#include <spdlog/spdlog.h>

#include <array>
#include <string>
#include <string_view>

namespace cardperso {

// The levels a program accepts, most verbose first.
inline constexpr std::array<std::string_view, 5> kLogLevels = {"trace", "debug", "info", "warn", "error"};
bool is_log_level(std::string_view level);

// level: trace, debug, info, warn, error. file empty = stderr only.
void init_logging(const std::string& program, const std::string& level, const std::string& file = {});

}  // namespace cardperso
