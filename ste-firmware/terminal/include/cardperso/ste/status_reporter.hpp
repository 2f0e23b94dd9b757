#pragma once
// What the terminal's display shows, as a code for the shop PC's console (proto::TerminalStatus,
// PROTOCOL.md §5): the flows call report() next to Display::show(). Only the code and its numbers
// go out, never the display's text. The program's reporter queues a frame to the DTD link; the
// unit tests record. A reporter never blocks the flow and never fails it: a status the link cannot
// take is dropped (the mirror is a hint, the display is what counts).
#include <vector>

#include "cardperso/proto/terminal_status.hpp"

namespace cardperso::ste {

class StatusReporter {
 public:
  virtual ~StatusReporter() = default;
  // The display now shows `status`. May be called from the thread that runs the card and keypad
  // work; must not block or throw.
  virtual void report(const proto::TerminalStatus& status) = 0;
  void report(proto::TerminalPrompt prompt) { report(proto::TerminalStatus::of(prompt)); }
};

// Reports nowhere.
StatusReporter& no_status_reporter();

// Keeps every status reported; for tests of the terminal logic.
class RecordingStatusReporter : public StatusReporter {
 public:
  using StatusReporter::report;
  void report(const proto::TerminalStatus& status) override { statuses.push_back(status); }
  std::vector<proto::TerminalPrompt> prompts() const {
    std::vector<proto::TerminalPrompt> out;
    for (const auto& s : statuses) out.push_back(s.prompt);
    return out;
  }
  std::vector<proto::TerminalStatus> statuses;
};

}  // namespace cardperso::ste
