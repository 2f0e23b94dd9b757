#pragma once
// --log-level and --log-file, shared by every program that logs. An unknown level is a usage error
// at parse time (it used to turn the log off silently).
#include <boost/program_options.hpp>

#include <string>

namespace cardperso::cli {

struct LogOptions {
  std::string level = "info";
  std::string file;  // empty: stderr only
};

void add_log_options(boost::program_options::options_description& options, LogOptions& log);

}  // namespace cardperso::cli
