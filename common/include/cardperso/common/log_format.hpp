#pragma once
// How a log line is written: text for people reading a terminal or a file, json (one object a line)
// for log collectors and `jq`. Kept apart from logging.hpp so option parsing does not pull in spdlog.
#include <array>
#include <optional>
#include <string_view>

namespace cardperso {

enum class LogFormat { Text, Json };

inline constexpr std::array<std::string_view, 2> kLogFormats = {"text", "json"};

std::optional<LogFormat> log_format_from(std::string_view name);
std::string_view log_format_name(LogFormat format);

}  // namespace cardperso
