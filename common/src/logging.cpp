#include "cardperso/common/logging.hpp"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <algorithm>
#include <vector>

#include "cardperso/common/json_log_format.hpp"

namespace cardperso {

bool is_log_level(std::string_view level) {
  return std::find(kLogLevels.begin(), kLogLevels.end(), level) != kLogLevels.end();
}

std::optional<LogFormat> log_format_from(std::string_view name) {
  if (name == "text") return LogFormat::Text;
  if (name == "json") return LogFormat::Json;
  return std::nullopt;
}

std::string_view log_format_name(LogFormat format) { return format == LogFormat::Json ? "json" : "text"; }

void init_logging(const std::string& program, const std::string& level, const std::string& file, LogFormat format) {
  std::vector<spdlog::sink_ptr> sinks;
  // JSON goes to a plain sink: colour codes inside a JSON line would break it.
  if (format == LogFormat::Json)
    sinks.push_back(std::make_shared<spdlog::sinks::stderr_sink_mt>());
  else
    sinks.push_back(std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  if (!file.empty()) sinks.push_back(std::make_shared<spdlog::sinks::basic_file_sink_mt>(file));
  auto logger = std::make_shared<spdlog::logger>(program, sinks.begin(), sinks.end());
  logger->set_level(spdlog::level::from_str(level));
  if (format == LogFormat::Json)
    logger->set_formatter(make_json_log_formatter());
  else
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %n %^%l%$ %v");
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

}  // namespace cardperso
