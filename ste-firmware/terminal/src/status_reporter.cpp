#include "cardperso/ste/status_reporter.hpp"

namespace cardperso::ste {

namespace {
class NoStatusReporter final : public StatusReporter {
 public:
  using StatusReporter::report;
  void report(const proto::TerminalStatus&) override {}
};
}  // namespace

StatusReporter& no_status_reporter() {
  static NoStatusReporter none;
  return none;
}

}  // namespace cardperso::ste
