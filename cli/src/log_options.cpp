#include "cardperso/cli/log_options.hpp"

#include "cardperso/common/logging.hpp"

namespace cardperso::cli {

namespace po = boost::program_options;

namespace {

// Their own types so that the level and the format are checked while the command line is read
// (Boost calls validate() then), before any missing required option is reported: a wrong value is
// named as the error.
struct LogLevelName {
  std::string value;
};

struct LogFormatName {
  LogFormat value = LogFormat::Text;
};

// Found by argument-dependent lookup from Boost.Program_options.
[[maybe_unused]] void validate(boost::any& out, const std::vector<std::string>& values, LogLevelName*, int) {
  po::validators::check_first_occurrence(out);
  const std::string& level = po::validators::get_single_string(values);
  if (!is_log_level(level))
    throw po::error("--log-level must be one of trace, debug, info, warn, error (not '" + level + "')");
  out = LogLevelName{level};
}

[[maybe_unused]] void validate(boost::any& out, const std::vector<std::string>& values, LogFormatName*, int) {
  po::validators::check_first_occurrence(out);
  const std::string& name = po::validators::get_single_string(values);
  const auto format = log_format_from(name);
  if (!format) throw po::error("--log-format must be text or json (not '" + name + "')");
  out = LogFormatName{*format};
}

}  // namespace

void add_log_options(po::options_description& options, LogOptions& log) {
  const std::string format(log_format_name(log.format));
  options.add_options()
      ("log-level",
       po::value<LogLevelName>()
           ->default_value(LogLevelName{log.level}, log.level)
           ->notifier([&log](const LogLevelName& level) { log.level = level.value; }),
       "trace, debug, info, warn or error")
      ("log-format",
       po::value<LogFormatName>()
           ->default_value(LogFormatName{log.format}, format)
           ->notifier([&log](const LogFormatName& name) { log.format = name.value; }),
       "text (for people) or json (one JSON object a line: time, level, program, message, and session, "
       "retailer, iccid when the message names them), on stderr and in --log-file alike")
      ("log-file", po::value(&log.file), "also write the log to this file");
}

}  // namespace cardperso::cli
