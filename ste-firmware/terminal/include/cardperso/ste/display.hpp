#pragma once
// The STE's display: what the retailer and the customer read. The console display prints each line
// as "[STE] text" on stdout and flushes, so tests and operators can follow the terminal.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace cardperso::ste {

class Display {
 public:
  virtual ~Display() = default;
  virtual void show(std::string_view line) = 0;
};

std::unique_ptr<Display> make_console_display();

// Keeps every line shown; for tests of the terminal logic.
class RecordingDisplay : public Display {
 public:
  void show(std::string_view line) override { lines.emplace_back(line); }
  std::vector<std::string> lines;
};

}  // namespace cardperso::ste
