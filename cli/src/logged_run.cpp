#include "cardperso/cli/logged_run.hpp"

#include <spdlog/spdlog.h>

#include <exception>
#include <iostream>

#include "cardperso/cli/exit_codes.hpp"
#include "cardperso/common/logging.hpp"

namespace cardperso::cli {

int run_logged(const std::string& program, const LogOptions& log, const HardeningReport& hardening,
               const std::function<int()>& body) {
  try {
    init_logging(program, log.level, log.file, log.format);
  } catch (const std::exception& e) {
    std::cerr << program << ": cannot open the log file " << log.file << ": " << e.what() << "\n";
    return kExitUsage;
  }
  log_hardening(hardening);
  try {
    return body();
  } catch (const std::exception& e) {
    spdlog::critical("internal error: {}", e.what());
    return kExitFailed;
  }
}

}  // namespace cardperso::cli
