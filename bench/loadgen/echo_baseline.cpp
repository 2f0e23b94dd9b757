#include "echo_baseline.hpp"

#include "cardperso/testing/run_program.hpp"

namespace cardperso::bench {

std::string exchanges_argument(const std::vector<ExchangeBytes>& exchanges) {
  std::string out;
  for (const auto& e : exchanges) {
    if (!out.empty()) out += ",";
    out += std::to_string(e.request) + ":" + std::to_string(e.response);
  }
  return out;
}

Result<nlohmann::json> run_echo_baseline(const EchoBaselinePlan& plan) {
  const std::vector<std::string> argv{plan.program,
                                      "--exchanges",
                                      exchanges_argument(plan.exchanges),
                                      "--connections",
                                      std::to_string(plan.connections),
                                      "--sessions",
                                      std::to_string(plan.sessions),
                                      "--timeout-ms",
                                      std::to_string(plan.timeout.count())};
  auto output = testing::run_to_success(argv, std::chrono::minutes(10));
  if (!output) return fail("the echo baseline failed: " + output.error().message);
  // Its last line is the JSON summary; errors and human lines come before it.
  std::string text = *output;
  while (!text.empty() && text.back() == '\n') text.pop_back();
  const auto last = text.rfind('\n');
  const std::string line = last == std::string::npos ? text : text.substr(last + 1);
  auto summary = nlohmann::json::parse(line, nullptr, false);
  if (summary.is_discarded() || !summary.is_object() || summary.value("bench", "") != "echo")
    return fail("the echo baseline printed no JSON summary; its output ended with: " + line);
  return summary;
}

}  // namespace cardperso::bench
