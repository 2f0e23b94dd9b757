#pragma once
// --log-format json: every log line one JSON object, for log collectors and `jq`:
//   {"time":"2026-12-06T07:00:00.123Z","level":"info","program":"ads-server","message":"...",
//    "session":"3401742587","retailer":"700000000001"}
// time is UTC with milliseconds; level is one of the --log-level names (plus "critical"); session,
// retailer and iccid are there when the message names them (log_fields.hpp). Nothing else is added:
// no thread id, no source location, no context that could hold a secret the message does not.
#include <spdlog/formatter.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

namespace cardperso {

// One line without its newline. Invalid UTF-8 in the message is replaced (U+FFFD), never an error.
std::string json_log_line(std::chrono::system_clock::time_point time, spdlog::level::level_enum level,
                          std::string_view program, std::string_view message);

std::unique_ptr<spdlog::formatter> make_json_log_formatter();

}  // namespace cardperso
