// adsctl: the issuer's administration tool for the ADS database (retailers, terminals, audit log, card stock,
// number pools, card records). Its help is generated from the command table below.
#include <string>
#include <vector>

#include "cardperso/common/process_hardening.hpp"
#include "command_line.hpp"

namespace cardperso::adsctl {
// migrate_command.cpp: copying a SQLite ADS into PostgreSQL.
std::vector<cli::Subcommand> migrate_commands();
}  // namespace cardperso::adsctl

int main(int argc, char** argv) {
  // adsctl handles master keys, batch secrets and card codes; it logs nothing, so no report is shown.
  cardperso::harden_process({.secure_heap_bytes = 1024 * 1024, .secure_heap_min_block = 16});
  using namespace cardperso;
  cli::SubcommandProgram program{
      .name = "adsctl",
      .description = "Administers the ADS database of the cardperso issuer server.",
      .footer = "Every command takes --db PATH (default ./ads.db), --master-key PATH (default ./ads-master.key),\n"
                "--help and --version. Exit codes: 0 done, 1 usage error, 2 refused or failed.",
      .commands = {}};
  for (auto table : {adsctl::init_commands, adsctl::retailer_commands, adsctl::terminal_commands, adsctl::audit_commands, adsctl::batch_commands,
                     adsctl::pool_commands, adsctl::card_commands, adsctl::hlr_commands,
                     adsctl::export_commands, adsctl::maintenance_commands, adsctl::migrate_commands, adsctl::status_commands}) {
    for (auto& command : table()) program.commands.push_back(std::move(command));
  }
  return cli::run_subcommands(program, std::vector<std::string>(argv + 1, argv + argc));
}
