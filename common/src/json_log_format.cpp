#include "cardperso/common/json_log_format.hpp"

#include <fmt/format.h>
#include <spdlog/details/log_msg.h>

#include <ctime>
#include <nlohmann/json.hpp>

#include "cardperso/common/log_fields.hpp"

namespace cardperso {

namespace {

std::string utc_time(std::chrono::system_clock::time_point time) {
  const auto since_epoch = time.time_since_epoch();
  const auto seconds = std::chrono::floor<std::chrono::seconds>(since_epoch);
  const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch - seconds).count();
  const std::time_t t = seconds.count();
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
}

// The --log-level names, so `select(.level == "warn")` uses the word the operator typed.
std::string_view level_name(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace: return "trace";
    case spdlog::level::debug: return "debug";
    case spdlog::level::info: return "info";
    case spdlog::level::warn: return "warn";
    case spdlog::level::err: return "error";
    case spdlog::level::critical: return "critical";
    default: return "off";
  }
}

class JsonLogFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const std::string line =
        json_log_line(msg.time, msg.level, std::string_view(msg.logger_name.data(), msg.logger_name.size()),
                      std::string_view(msg.payload.data(), msg.payload.size()));
    dest.append(line.data(), line.data() + line.size());
    dest.push_back('\n');
  }
  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonLogFormatter>(); }
};

}  // namespace

std::string json_log_line(std::chrono::system_clock::time_point time, spdlog::level::level_enum level,
                          std::string_view program, std::string_view message) {
  // ordered_json: the fields in the order people read them.
  nlohmann::ordered_json line;
  line["time"] = utc_time(time);
  line["level"] = level_name(level);
  line["program"] = std::string(program);
  line["message"] = std::string(message);
  const LogFields fields = log_fields(message);
  if (fields.session) line["session"] = *fields.session;
  if (fields.retailer) line["retailer"] = *fields.retailer;
  if (fields.iccid) line["iccid"] = *fields.iccid;
  return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::unique_ptr<spdlog::formatter> make_json_log_formatter() { return std::make_unique<JsonLogFormatter>(); }

}  // namespace cardperso
