#pragma once
// One command-line front for every program: options described once with Boost.Program_options,
// --help (usage, description, options, exit codes), --version, --config FILE (config_file.hpp) and
// --print-config (print_config.hpp) added to each, and every usage error reported as one line naming
// the program, before anything is done.
#include <boost/program_options.hpp>

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "cardperso/cli/exit_codes.hpp"

namespace cardperso::cli {

namespace po = boost::program_options;

struct ProgramInfo {
  std::string name;         // "ads-server", or "adsctl pool add" for a subcommand
  std::string usage;        // what follows the name on the usage line, e.g. "--db PATH [options]"
  std::string description;  // what the program does, in a paragraph or two
  std::string exit_codes = "0 done, 1 usage error, 2 refused or failed";
};

class CommandLine {
 public:
  explicit CommandLine(ProgramInfo info);

  // Describe the program's own options here; --config, --print-config, --help and --version are
  // added by parse().
  po::options_description& options() { return options_; }
  po::positional_options_description& positional() { return positional_; }

  // Parses the command line, then the --config file for what the command line did not give, and
  // validates (notifiers and required options run here). Returns the exit code to stop with — kExitOk
  // after printing the help, the version or the settings (--print-config), kExitUsage after printing
  // a one-line error — or nothing when the program should go on with `vm` filled in.
  std::optional<int> parse(int argc, const char* const argv[], po::variables_map& vm);
  std::optional<int> parse(const std::vector<std::string>& args, po::variables_map& vm);

  // The options in the order given (after a successful parse): the command line's, then the config
  // file's it did not override; for programs where order matters.
  const std::vector<po::option>& given() const { return given_; }

  // "NAME: MESSAGE (run `NAME --help` for usage)" on stderr; returns kExitUsage.
  int usage_error(const std::string& message) const;
  // "NAME: MESSAGE" on stderr; returns kExitFailed.
  int failed(const std::string& message) const;

  void print_help(std::ostream& out) const;
  const ProgramInfo& info() const { return info_; }

 private:
  std::optional<int> parse_with(const std::vector<std::string>& args, po::variables_map& vm);
  // The --config file stored in vm (given_ extended); an error message when it is refused.
  std::optional<std::string> apply_config_file(const std::string& path, po::variables_map& vm);

  ProgramInfo info_;
  po::options_description options_{"Options"};
  po::positional_options_description positional_;
  std::vector<po::option> given_;
  bool help_ = false;
  bool version_ = false;
};

// The first word of a program name ("adsctl" of "adsctl pool add").
std::string program_of(const std::string& name);

}  // namespace cardperso::cli
