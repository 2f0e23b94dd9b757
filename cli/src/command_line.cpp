#include "cardperso/cli/command_line.hpp"

#include <algorithm>
#include <iostream>

#include "cardperso/cli/config_file.hpp"
#include "cardperso/cli/print_config.hpp"
#include "cardperso/cli/version_text.hpp"

namespace cardperso::cli {

CommandLine::CommandLine(ProgramInfo info) : info_(std::move(info)) {}

std::string program_of(const std::string& name) { return name.substr(0, name.find(' ')); }

void CommandLine::print_help(std::ostream& out) const {
  out << "Usage: " << info_.name << (info_.usage.empty() ? "" : " ") << info_.usage << "\n\n";
  if (!info_.description.empty()) out << info_.description << "\n\n";
  out << options_ << "\nExit codes: " << info_.exit_codes << ".\n";
}

int CommandLine::usage_error(const std::string& message) const {
  std::cerr << info_.name << ": " << message << " (run `" << info_.name << " --help` for usage)\n";
  return kExitUsage;
}

int CommandLine::failed(const std::string& message) const {
  std::cerr << program_of(info_.name) << ": " << message << "\n";
  return kExitFailed;
}

std::optional<int> CommandLine::parse(int argc, const char* const argv[], po::variables_map& vm) {
  return parse_with(std::vector<std::string>(argv + std::min(argc, 1), argv + argc), vm);
}

std::optional<int> CommandLine::parse(const std::vector<std::string>& args, po::variables_map& vm) {
  return parse_with(args, vm);
}

std::optional<std::string> CommandLine::apply_config_file(const std::string& path, po::variables_map& vm) {
  auto file = read_config_file(path, options_);
  if (!file) return file.error().message;
  auto stored = store_config_file(*file, options_, given_, vm);
  if (!stored) return stored.error().message;
  given_.insert(given_.end(), stored->begin(), stored->end());
  return std::nullopt;
}

std::optional<int> CommandLine::parse_with(const std::vector<std::string>& args, po::variables_map& vm) {
  // Added here, not in the constructor, so they are listed after the program's own options.
  options_.add_options()
      ("config", po::value<std::string>()->value_name("FILE"),
       "read options from FILE: `name = value` lines with the long option names of this help (no --), "
       "# comments, a repeatable option on several lines; the command line wins over the file")
      ("print-config", po::bool_switch(),
       "print the effective settings as a --config file (secret values as <secret>) and exit")
      ("help,h", po::bool_switch(&help_), "print this help and exit")
      ("version", po::bool_switch(&version_), "print the program and protocol versions and exit");
  bool help = false, version = false;
  const bool asked_for_help = std::any_of(args.begin(), args.end(), [](const std::string& a) {
    return a == "--help" || a == "-h";
  });
  try {
    auto parsed = po::command_line_parser(args).options(options_).positional(positional_).run();
    po::store(parsed, vm);
    given_ = parsed.options;
    // --help and --version win over a missing required option, a bad value or a bad config file.
    if (vm.count("help") != 0U && vm["help"].as<bool>()) help = true;
    if (vm.count("version") != 0U && vm["version"].as<bool>()) version = true;
    if (!help && !version && vm.count("config") != 0U) {
      if (auto refused = apply_config_file(vm["config"].as<std::string>(), vm)) return usage_error(*refused);
    }
    if (!help && !version && vm["print-config"].as<bool>()) {
      // Before notify(): the settings print even while a required option is still missing.
      std::cout << print_config(options_, vm, given_);
      return kExitOk;
    }
    if (!help && !version) po::notify(vm);
  } catch (const po::error& e) {
    if (!asked_for_help) return usage_error(e.what());
    help = true;
  }
  if (help) {
    print_help(std::cout);
    return kExitOk;
  }
  if (version) {
    std::cout << version_text(program_of(info_.name)) << "\n";
    return kExitOk;
  }
  return std::nullopt;
}

}  // namespace cardperso::cli
