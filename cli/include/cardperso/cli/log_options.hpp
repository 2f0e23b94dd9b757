#pragma once
// --log-level, --log-format and --log-file, shared by every program that logs. An unknown level or
// format is a usage error at parse time (an unknown level used to turn the log off silently).
#include <boost/program_options.hpp>

#include <string>

#include "cardperso/common/log_format.hpp"

namespace cardperso::cli {

struct LogOptions {
  std::string level = "info";
  LogFormat format = LogFormat::Text;  // text for people; json, one object a line, for collectors
  std::string file;                    // empty: stderr only
};

void add_log_options(boost::program_options::options_description& options, LogOptions& log);

}  // namespace cardperso::cli
