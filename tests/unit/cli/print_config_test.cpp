// --print-config: the effective settings in the --config syntax, secrets elided, readable back.
#include <gtest/gtest.h>

#include <regex>
#include <sstream>

#include "cardperso/cli/exit_codes.hpp"
#include "cardperso/cli/print_config.hpp"
#include "test_program.hpp"

namespace cardperso::cli::test {
namespace {

// --print-config's exit code and stdout.
std::pair<std::optional<int>, std::string> print(TestProgram& p, std::vector<std::string> args) {
  args.push_back("--print-config");
  ::testing::internal::CaptureStdout();
  auto code = p.parse(args);
  return {code, ::testing::internal::GetCapturedStdout()};
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

TEST(PrintConfig, PrintsEveryValueTypeAndParsesBackToTheSameSettings) {
  TestProgram first;
  const auto file = write_file("base.conf", "rate = 0.125\nplmn = 22801\nplmn = 22802\n");
  auto [code, out] = print(first, {"--db", "/srv/a b.db", "--port", "5", "--flag", "--json", "--pin", "73918264",
                                   "--log-level", "debug", "--config", file});
  ASSERT_EQ(code, kExitOk);
  const std::regex line_re("^[a-z0-9-]+ = .*$");
  for (const auto& line : lines(out)) EXPECT_TRUE(std::regex_match(line, line_re)) << "'" << line << "'";
  EXPECT_EQ(lines(out), (std::vector<std::string>{"db = /srv/a b.db", "port = 5", "rate = 0.125", "flag = true",
                                                  "plmn = 22801", "plmn = 22802", "pin = <secret>", "json = true",
                                                  "log-level = debug", "log-format = text"}))
      << out;
  EXPECT_EQ(out.find("73918264"), std::string::npos) << "the PIN was printed";

  TestProgram second;
  ::testing::internal::CaptureStderr();
  auto again = second.parse({"--config", write_file("printed.conf", out)});
  const std::string err = ::testing::internal::GetCapturedStderr();
  ASSERT_FALSE(again.has_value()) << err << "\n" << out;
  EXPECT_EQ(second.s.db, "/srv/a b.db");
  EXPECT_EQ(second.s.port, 5);
  EXPECT_DOUBLE_EQ(second.s.rate, 0.125);
  EXPECT_TRUE(second.s.flag);
  EXPECT_EQ(second.vm.count("json"), 1U);
  EXPECT_EQ(second.s.plmn, (std::vector<std::string>{"22801", "22802"}));
  EXPECT_EQ(second.s.log.level, "debug");
  EXPECT_EQ(second.s.log.format, LogFormat::Text);
  EXPECT_EQ(second.s.pin, "<secret>");  // elided, so it reads back as the placeholder
}

TEST(PrintConfig, DefaultsPrintAndAMissingRequiredOptionIsNoError) {
  TestProgram p;
  auto [code, out] = print(p, {});
  EXPECT_EQ(code, kExitOk);
  EXPECT_EQ(lines(out), (std::vector<std::string>{"port = 7", "rate = 1.5", "flag = false", "log-level = info",
                                                  "log-format = text"}))
      << out;
}

TEST(PrintConfig, AValueFromTheFileIsPrintedAsWritten) {
  TestProgram p;
  auto [code, out] = print(p, {"--config", write_file("a.conf", "db = x\nport = 0042\nlog-format = json\n")});
  EXPECT_EQ(code, kExitOk);
  EXPECT_NE(out.find("port = 0042\n"), std::string::npos) << out;
  EXPECT_NE(out.find("log-format = json\n"), std::string::npos) << out;
}

TEST(SecretOptions, TheProgramsSecretValuesAreElidedTheirPlacesAreNot) {
  for (const char* name : {"pin", "puk", "card-code-hex", "issuer-code-hex", "verify-adm-hex", "pair",
                           "batch-secret-hex", "transport-key-hex", "admin-password", "apdu"})
    EXPECT_TRUE(is_secret_option(name, true)) << name;
  for (const char* name : {"pin-file", "pin-fd", "secret-file", "card-code-file", "master-key", "pairing-file",
                           "public-key", "keys-file", "transport-key", "device-key", "spn", "run-gsm", "echo-test",
                           "keypad-script", "db"})
    EXPECT_FALSE(is_secret_option(name, true)) << name;
  EXPECT_FALSE(is_secret_option("pair", false)) << "ste-firmware --pair is a switch: it holds no secret";
}

}  // namespace
}  // namespace cardperso::cli::test
