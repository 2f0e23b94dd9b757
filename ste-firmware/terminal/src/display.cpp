#include "cardperso/ste/display.hpp"

#include <cstdio>

namespace cardperso::ste {

namespace {
class ConsoleDisplay final : public Display {
 public:
  void show(std::string_view line) override {
    std::fprintf(stdout, "[STE] %.*s\n", static_cast<int>(line.size()), line.data());
    std::fflush(stdout);
  }
};
}  // namespace

std::unique_ptr<Display> make_console_display() { return std::make_unique<ConsoleDisplay>(); }

}  // namespace cardperso::ste
