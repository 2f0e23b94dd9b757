// --config FILE on every CommandLine program: file values used, flags win, errors name their line.
#include <gtest/gtest.h>

#include <algorithm>

#include "cardperso/cli/exit_codes.hpp"
#include "test_program.hpp"

namespace cardperso::cli::test {
namespace {

// parse() with stderr captured: the exit code (nullopt: go on) and what was printed.
struct Outcome {
  std::optional<int> code;
  std::string err;
};

Outcome parse_capturing(TestProgram& p, const std::vector<std::string>& args) {
  ::testing::internal::CaptureStderr();
  Outcome o;
  o.code = p.parse(args);
  o.err = ::testing::internal::GetCapturedStderr();
  return o;
}

std::size_t lines_of(const std::string& text) {
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

TEST(ConfigFile, ValuesFromTheFileAreUsed) {
  const auto path = write_file("a.conf",
                               "# the test program's settings\n"
                               "db = /var/lib/test.db\n"
                               "  port=99   # a comment after the value\n"
                               "rate = 2.25\n"
                               "flag = true\n"
                               "json = yes\n"
                               "log-level = debug\n"
                               "log-format = json\n"
                               "\n");
  TestProgram p;
  auto o = parse_capturing(p, {"--config", path});
  ASSERT_FALSE(o.code.has_value()) << o.err;
  EXPECT_EQ(p.s.db, "/var/lib/test.db");
  EXPECT_EQ(p.s.port, 99);
  EXPECT_DOUBLE_EQ(p.s.rate, 2.25);
  EXPECT_TRUE(p.s.flag);
  EXPECT_EQ(p.vm.count("json"), 1U);
  EXPECT_EQ(p.s.log.level, "debug");
  EXPECT_EQ(p.s.log.format, LogFormat::Json);
}

TEST(ConfigFile, FlagsOverrideTheFileRepeatableOnesIncluded) {
  const auto path = write_file("a.conf", "db = from-file\nport = 99\nplmn = 22801\nplmn = 22802\nlog-format = json\n");
  TestProgram p;
  auto o = parse_capturing(p, {"--port", "5", "--config", path, "--plmn", "24001", "--log-format", "text"});
  ASSERT_FALSE(o.code.has_value()) << o.err;
  EXPECT_EQ(p.s.db, "from-file");
  EXPECT_EQ(p.s.port, 5);
  EXPECT_EQ(p.s.plmn, std::vector<std::string>{"24001"});
  EXPECT_EQ(p.s.log.format, LogFormat::Text);
}

TEST(ConfigFile, RepeatedKeysMakeAVectorOption) {
  const auto path = write_file("a.conf", "db = x\nplmn = 22801\nplmn = 22802\nplmn = 228/03\n");
  TestProgram p;
  auto o = parse_capturing(p, {"--config", path});
  ASSERT_FALSE(o.code.has_value()) << o.err;
  EXPECT_EQ(p.s.plmn, (std::vector<std::string>{"22801", "22802", "228/03"}));
}

TEST(ConfigFile, RequiredOptionMayComeFromTheFile) {
  TestProgram with;
  auto o = parse_capturing(with, {"--config", write_file("with.conf", "db = /srv/db\n")});
  ASSERT_FALSE(o.code.has_value()) << o.err;
  EXPECT_EQ(with.s.db, "/srv/db");

  TestProgram without;
  o = parse_capturing(without, {"--config", write_file("without.conf", "port = 1\n")});
  EXPECT_EQ(o.code, kExitUsage);
  EXPECT_NE(o.err.find("db"), std::string::npos) << o.err;
  EXPECT_EQ(lines_of(o.err), 1U) << o.err;
}

TEST(ConfigFile, UnknownKeyIsAOneLineUsageErrorNamingItsLine) {
  const auto path = write_file("a.conf", "db = x\n# comment\n\nlisten-on = 1.2.3.4\n");
  TestProgram p;
  auto o = parse_capturing(p, {"--config", path});
  EXPECT_EQ(o.code, kExitUsage);
  EXPECT_NE(o.err.find("test-prog: " + path + " line 4: unknown option 'listen-on'"), std::string::npos) << o.err;
  EXPECT_EQ(lines_of(o.err), 1U) << o.err;
}

TEST(ConfigFile, BadLinesAndValuesNameTheirLine) {
  struct Case {
    std::string text, expected;
  };
  const std::vector<Case> cases = {
      {"db = x\njust some words\n", "line 2: expected `name = value`"},
      {"db = x\nport = many\n", "line 2: the argument ('many') for option 'port' is invalid"},
      {"db = x\nport = 1\nport = 2\n", "line 3: option 'port' cannot be specified more than once"},
      {"db = x\nlog-level = loud\n", "line 2: --log-level must be one of"},
      {"db = x\nlog-format = xml\n", "line 2: --log-format must be text or json"},
      {"db = x\njson = maybe\n", "line 2: 'json' is a switch: true or false"},
      {"db = x\nconfig = other.conf\n", "line 2: 'config' only works on the command line"},
      {"db = x\nprint-config = true\n", "line 2: 'print-config' only works on the command line"},
      {"= x\n", "line 1: no option name before '='"},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    TestProgram p;
    auto o = parse_capturing(p, {"--config", write_file("case" + std::to_string(i) + ".conf", cases[i].text)});
    EXPECT_EQ(o.code, kExitUsage) << cases[i].text;
    EXPECT_NE(o.err.find(cases[i].expected), std::string::npos) << o.err << cases[i].text;
    EXPECT_EQ(lines_of(o.err), 1U) << o.err;
  }
}

TEST(ConfigFile, AMissingFileIsAUsageError) {
  TestProgram p;
  auto o = parse_capturing(p, {"--config", ::testing::TempDir() + "/no-such-dir/none.conf"});
  EXPECT_EQ(o.code, kExitUsage);
  EXPECT_NE(o.err.find("cannot read the config file"), std::string::npos) << o.err;
  EXPECT_EQ(lines_of(o.err), 1U) << o.err;
}

TEST(ConfigFile, AFalseFlagIsNotGiven) {
  TestProgram p;
  auto o = parse_capturing(p, {"--config", write_file("a.conf", "db = x\njson = false\nflag = off\n")});
  ASSERT_FALSE(o.code.has_value()) << o.err;
  EXPECT_EQ(p.vm.count("json"), 0U);
  EXPECT_FALSE(p.s.flag);
}

TEST(ConfigFile, HelpWinsOverABadFile) {
  TestProgram p;
  ::testing::internal::CaptureStdout();
  auto o = parse_capturing(p, {"--config", write_file("a.conf", "nope = 1\n"), "--help"});
  const std::string out = ::testing::internal::GetCapturedStdout();
  EXPECT_EQ(o.code, kExitOk);
  EXPECT_NE(out.find("--config FILE"), std::string::npos) << out;
  EXPECT_NE(out.find("--print-config"), std::string::npos) << out;
  EXPECT_NE(out.find("--log-format"), std::string::npos) << out;
}

TEST(ConfigFile, OrderOfGivenOptionsIsCommandLineThenFile) {
  TestProgram p;
  auto o = parse_capturing(p, {"--config", write_file("a.conf", "db = x\nplmn = 2\n"), "--port", "3"});
  ASSERT_FALSE(o.code.has_value()) << o.err;
  std::vector<std::string> keys;
  for (const auto& opt : p.cl().given()) keys.push_back(opt.string_key);
  EXPECT_EQ(keys, (std::vector<std::string>{"config", "port", "db", "plmn"}));
}

}  // namespace
}  // namespace cardperso::cli::test
