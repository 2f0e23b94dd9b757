#pragma once
// A real card-sim process in a vpcd reader: stdin a pipe (remove / insert / quit), stdout read for
// its events (inserted, removed, ...).
#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "cardperso/testing/child_process.hpp"

namespace cardperso::testing {

class CardSimProcess {
 public:
  // program: path of card-sim; image: the image file it serves (and rewrites); port 35963 = reader
  // "Virtual PCD 00 00", 35964 = "Virtual PCD 00 01".
  // stderr_path: file that receives card-sim's stderr (appended); empty = the test's own stderr.
  CardSimProcess(std::string program, std::string image, int port, std::vector<std::string> extra_args = {},
                 const std::string& stderr_path = {});
  ~CardSimProcess();  // SIGTERM, then SIGKILL after 2 s
  CardSimProcess(const CardSimProcess&) = delete;
  CardSimProcess& operator=(const CardSimProcess&) = delete;

  // Waits for the next line equal to event on stdout; false on timeout or when the process ended.
  bool wait_for_event(const std::string& event, std::chrono::milliseconds timeout);
  void send_command(const std::string& line);  // "remove", "insert", "quit"
  // SIGTERM and wait; returns the exit status (or -1).
  int terminate();
  void kill_hard();  // SIGKILL: the card vanishes without a goodbye
  pid_t pid() const { return child_.pid(); }
  // Everything card-sim wrote to stdout so far (reads what is waiting, without blocking), for the
  // e2e secret scan.
  std::string output();

 private:
  ChildProcess child_;
};

}  // namespace cardperso::testing
