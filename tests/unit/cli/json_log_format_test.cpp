// --log-format json: every line one valid JSON object with time, level, program and message, the
// message escaped (quotes, newlines, control characters) and invalid UTF-8 replaced, never an error.
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "cardperso/common/json_log_format.hpp"

namespace cardperso {
namespace {

using nlohmann::json;
using namespace std::chrono;

const system_clock::time_point kTime = sys_days{year{2026} / 12 / 6} + 7h + 0min + 0s + 123ms;

json parsed(const std::string& line) {
  EXPECT_EQ(line.find('\n'), std::string::npos) << "a raw newline inside a JSON line: " << line;
  auto j = json::parse(line, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << "not JSON: " << line;
  return j;
}

TEST(JsonLogLine, HasTimeLevelProgramAndMessage) {
  const json j = parsed(json_log_line(kTime, spdlog::level::info, "ads-server", "listening on 127.0.0.1:7700"));
  EXPECT_EQ(j, (json{{"time", "2026-12-06T07:00:00.123Z"},
                     {"level", "info"},
                     {"program", "ads-server"},
                     {"message", "listening on 127.0.0.1:7700"}}));
}

TEST(JsonLogLine, LevelsAreTheLogLevelNames) {
  const std::vector<std::pair<spdlog::level::level_enum, std::string>> levels = {
      {spdlog::level::trace, "trace"}, {spdlog::level::debug, "debug"}, {spdlog::level::info, "info"},
      {spdlog::level::warn, "warn"},   {spdlog::level::err, "error"},   {spdlog::level::critical, "critical"}};
  for (const auto& [level, name] : levels) EXPECT_EQ(parsed(json_log_line(kTime, level, "p", "m"))["level"], name);
}

TEST(JsonLogLine, EscapesQuotesNewlinesAndControlCharacters) {
  const std::string message = std::string("a \"quoted\" word\\ on two\nlines\r\twith \x01 and \x1b[31m and ") + '\0' +
                              " end";
  const std::string line = json_log_line(kTime, spdlog::level::warn, "dtd-agent", message);
  for (char c : line) EXPECT_GE(static_cast<unsigned char>(c), 0x20) << "a raw control character in " << line;
  EXPECT_EQ(parsed(line)["message"], message);
}

TEST(JsonLogLine, InvalidUtf8IsReplacedNotAnError) {
  const std::string message = "name \xff\xfe M\xc3\xbcller \xc3";
  const json j = parsed(json_log_line(kTime, spdlog::level::info, "ste-firmware", message));
  EXPECT_EQ(j["message"], "name \xef\xbf\xbd\xef\xbf\xbd M\xc3\xbcller \xef\xbf\xbd");
}

TEST(JsonLogLine, NamedIdentifiersBecomeFields) {
  const json j = parsed(json_log_line(kTime, spdlog::level::info, "ads-server",
                                      "session 3401742587 established: retailer 700000000001"));
  EXPECT_EQ(j["session"], "3401742587");
  EXPECT_EQ(j["retailer"], "700000000001");
  EXPECT_FALSE(j.contains("iccid"));
  const json card = parsed(json_log_line(kTime, spdlog::level::info, "dtd-agent",
                                         "card 8988211000000000011 personalised: msisdn 41790000001"));
  EXPECT_EQ(card["iccid"], "8988211000000000011");
  EXPECT_EQ(card.size(), 5U) << card.dump();
}

TEST(JsonLogFormatter, EveryLineALoggerWritesIsJson) {
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  spdlog::logger logger("card-sim", sink);
  logger.set_formatter(make_json_log_formatter());
  logger.set_level(spdlog::level::trace);
  logger.info("card inserted (connected to vpcd at {}:{})", "127.0.0.1", 35963);
  logger.warn("odd text: \"{}\"\n second line", "quoted");
  logger.debug("session {}: card {}: script of {} steps received", 12, "8988211000000000011", 43);
  logger.error("bytes {}", std::string("\xff\x80"));
  std::istringstream in(out.str());
  int n = 0;
  const std::regex time_re(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$)");
  for (std::string line; std::getline(in, line); ++n) {
    const json j = parsed(line);
    ASSERT_TRUE(j.is_object()) << line;
    for (const char* field : {"time", "level", "program", "message"})
      ASSERT_TRUE(j.contains(field) && j[field].is_string()) << field << " missing in " << line;
    EXPECT_TRUE(std::regex_match(j["time"].get<std::string>(), time_re)) << line;
    EXPECT_EQ(j["program"], "card-sim");
    if (n == 2) {
      EXPECT_EQ(j["session"], "12");
      EXPECT_EQ(j["iccid"], "8988211000000000011");
    }
  }
  EXPECT_EQ(n, 4);
}

}  // namespace
}  // namespace cardperso
