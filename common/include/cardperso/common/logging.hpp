#pragma once
// One logging set-up for the three programs. Secrets never reach a log: the types that hold them
// (SecretBytes) have no formatter, and code logs serials, lengths and status words only.
#include <spdlog/spdlog.h>

#include <array>
#include <string>
#include <string_view>

#include "cardperso/common/log_format.hpp"

namespace cardperso {

// The levels a program accepts, most verbose first.
inline constexpr std::array<std::string_view, 5> kLogLevels = {"trace", "debug", "info", "warn", "error"};
bool is_log_level(std::string_view level);

// level: trace, debug, info, warn, error. file empty = stderr only. The format applies to stderr and
// the file alike (json_log_format.hpp).
void init_logging(const std::string& program, const std::string& level, const std::string& file = {},
                  LogFormat format = LogFormat::Text);

}  // namespace cardperso
