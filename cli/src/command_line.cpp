#include "cardperso/cli/command_line.hpp"

#include <algorithm>
#include <iostream>

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

std::optional<int> CommandLine::parse_with(const std::vector<std::string>& args, po::variables_map& vm) {
  // Added here, not in the constructor, so they are listed after the program's own options.
  options_.add_options()
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
    // --help and --version win over a missing required option or a bad value.
    if (vm.count("help") != 0U && vm["help"].as<bool>()) help = true;
    if (vm.count("version") != 0U && vm["version"].as<bool>()) version = true;
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
