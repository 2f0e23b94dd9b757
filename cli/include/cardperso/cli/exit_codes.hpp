#pragma once
// The exit codes of every cardperso program, so scripts and service managers can tell a mistake in
// the command line (fix the call) from a refusal or failure (look at the log).
namespace cardperso::cli {

enum ExitCode : int {
  kExitOk = 0,       // done (or stopped by SIGTERM/SIGINT, for the daemons)
  kExitUsage = 1,    // the command line is wrong: nothing was done
  kExitFailed = 2,   // refused or failed: the message (and the log) says why
};

}  // namespace cardperso::cli
