#include "cardperso/cli/log_options.hpp"

#include "cardperso/common/logging.hpp"

namespace cardperso::cli {

namespace po = boost::program_options;

namespace {

// Its own type so that the level is checked while the command line is read (Boost calls validate()
// then), before any missing required option is reported: a wrong level is named as the error.
struct LogLevelName {
  std::string value;
};

// Found by argument-dependent lookup from Boost.Program_options.
[[maybe_unused]] void validate(boost::any& out, const std::vector<std::string>& values, LogLevelName*, int) {
  po::validators::check_first_occurrence(out);
  const std::string& level = po::validators::get_single_string(values);
  if (!is_log_level(level))
    throw po::error("--log-level must be one of trace, debug, info, warn, error (not '" + level + "')");
  out = LogLevelName{level};
}

}  // namespace

void add_log_options(po::options_description& options, LogOptions& log) {
  options.add_options()
      ("log-level",
       po::value<LogLevelName>()
           ->default_value(LogLevelName{log.level}, log.level)
           ->notifier([&log](const LogLevelName& level) { log.level = level.value; }),
       "trace, debug, info, warn or error")
      ("log-file", po::value(&log.file), "also write the log to this file");
}

}  // namespace cardperso::cli
