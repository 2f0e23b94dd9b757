#pragma once
// --config FILE for every program built on CommandLine: the program's own long option names, one
// `name = value` a line, `#` starting a comment (so a value cannot hold '#'), a repeatable option
// given on several lines; Boost.Program_options' config-file syntax, which Boost parses.
//
// Why this syntax and not TOML: the project has no TOML library (Debian packages only, and one more
// parser is one more attack surface for a file an operator edits), the names are exactly the flags
// of --help with no mapping to keep in step, and Boost.Program_options already parses it and feeds
// the same validators, notifiers and required-option checks as the command line.
//
// Boost reports neither the line of an error nor which options came from where, so the file is also
// scanned here, line by line, the way Boost reads it: errors name their line, and options the
// command line gives are left out of what the file stores (flags win, repeatable ones included).
#include <boost/program_options.hpp>

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "cardperso/common/result.hpp"

namespace cardperso::cli {

namespace po = boost::program_options;

// What only makes sense on the command line; the file may not name these.
inline constexpr std::array<std::string_view, 4> kCommandLineOnlyOptions = {"config", "print-config", "help",
                                                                            "version"};

struct ConfigFile {
  std::string path;
  std::vector<po::option> options;  // in file order, as Boost parsed them
  std::vector<int> lines;           // the line of each option
};

// Reads and checks the file: every line `name = value`, a comment or blank; every name an option of
// `known` that is not command-line only; every switch true or false. Errors: "PATH line N: ...".
Result<ConfigFile> read_config_file(const std::string& path, const po::options_description& known);

// Stores the file's options in vm except those the command line gave; each value goes through the
// option's validator here, so a bad one is reported with its line. Returns the options stored.
Result<std::vector<po::option>> store_config_file(const ConfigFile& file, const po::options_description& known,
                                                  const std::vector<po::option>& command_line,
                                                  po::variables_map& vm);

}  // namespace cardperso::cli
