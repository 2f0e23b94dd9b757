#include "cardperso/cli/subcommands.hpp"

#include <algorithm>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "cardperso/cli/exit_codes.hpp"
#include "cardperso/cli/version_text.hpp"

namespace cardperso::cli {

namespace {

std::string first_word(const std::string& name) { return name.substr(0, name.find(' ')); }

bool is_help(const std::string& arg) { return arg == "--help" || arg == "-h" || arg == "help"; }

}  // namespace

std::string subcommand_listing(const SubcommandProgram& program, const std::string& group) {
  std::ostringstream out;
  out << "Usage: " << program.name << " " << (group.empty() ? "<command>" : group + " <subcommand>")
      << " [options]\n\n";
  if (group.empty() && !program.description.empty()) out << program.description << "\n\n";
  out << "Commands:\n";
  std::size_t width = 0;
  std::vector<std::pair<std::string, const Subcommand*>> rows;
  for (const auto& c : program.commands) {
    if (!group.empty() && first_word(c.name) != group) continue;
    std::string left = c.name + (c.synopsis.empty() ? "" : " " + c.synopsis);
    width = std::max(width, left.size());
    rows.emplace_back(std::move(left), &c);
  }
  for (const auto& [left, c] : rows) out << "  " << std::left << std::setw(static_cast<int>(width) + 2) << left << c->summary << "\n";
  out << "\nRun `" << program.name << " " << (group.empty() ? "<command>" : group + " <subcommand>")
      << " --help` for the options of each.\n";
  if (!program.footer.empty()) out << program.footer << "\n";
  return out.str();
}

int run_subcommands(const SubcommandProgram& program, const std::vector<std::string>& args) {
  if (args.empty()) {
    std::cerr << subcommand_listing(program);
    return kExitUsage;
  }
  if (is_help(args[0])) {
    std::cout << subcommand_listing(program);
    return kExitOk;
  }
  if (args[0] == "--version") {
    std::cout << version_text(program.name) << "\n";
    return kExitOk;
  }
  // The longest name that matches wins: "pool add" before a one-word "pool".
  const Subcommand* found = nullptr;
  std::size_t words = 0;
  for (const auto& c : program.commands) {
    const bool two = c.name.find(' ') != std::string::npos;
    if (two && args.size() >= 2 && c.name == args[0] + " " + args[1]) {
      found = &c;
      words = 2;
      break;
    }
    if (!two && c.name == args[0] && found == nullptr) {
      found = &c;
      words = 1;
    }
  }
  if (found == nullptr) {
    const bool is_group = std::any_of(program.commands.begin(), program.commands.end(),
                                      [&](const Subcommand& c) { return first_word(c.name) == args[0] && c.name != args[0]; });
    if (is_group && (args.size() == 1 || is_help(args[1]))) {
      (args.size() == 1 ? std::cerr : std::cout) << subcommand_listing(program, args[0]);
      return args.size() == 1 ? kExitUsage : kExitOk;
    }
    const std::string what = is_group ? args[0] + " " + args[1] : args[0];
    std::cerr << program.name << ": unknown command '" << what << "' (run `" << program.name
              << (is_group ? " " + args[0] : std::string()) << " --help` for the list)\n";
    return kExitUsage;
  }
  const std::vector<std::string> rest(args.begin() + static_cast<std::ptrdiff_t>(words), args.end());
  try {
    return found->run(rest, program.name + " " + found->name);
  } catch (const std::exception& e) {
    std::cerr << program.name << ": internal error: " << e.what() << "\n";
    return kExitFailed;
  }
}

}  // namespace cardperso::cli
