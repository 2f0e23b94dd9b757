#pragma once
// Programs made of subcommands (adsctl, cardperso-mkcards): one table names each command, its
// one-line summary and its function, and the program's help is generated from it, so the list a
// user reads is the list the program dispatches on.
#include <functional>
#include <string>
#include <vector>

namespace cardperso::cli {

struct Subcommand {
  std::string name;     // one or two words: "init", "pool add"
  std::string synopsis; // what follows the name in the listing, e.g. "SERIAL" or "[--last N]"
  std::string summary;  // one line
  // Gets the arguments after the name and the full command name ("adsctl pool add") for its help.
  std::function<int(const std::vector<std::string>& args, const std::string& full_name)> run;
};

struct SubcommandProgram {
  std::string name;         // "adsctl"
  std::string description;  // a paragraph for the top-level help
  std::string footer;       // what every command shares (options, exit codes)
  std::vector<Subcommand> commands;
};

// Finds the command named by the first one or two words of args and runs it. `PROGRAM`,
// `PROGRAM --help` and `PROGRAM GROUP` (the first word of two-word commands) print the listing;
// `--version` prints the version. Unknown commands are a one-line usage error (exit 1); an
// exception escaping a command is reported as an internal error (exit 2).
int run_subcommands(const SubcommandProgram& program, const std::vector<std::string>& args);

// The listing printed by --help: usage, description, every command with its summary, footer.
std::string subcommand_listing(const SubcommandProgram& program, const std::string& group = {});

}  // namespace cardperso::cli
