#pragma once
// A small program on CommandLine with one option of each kind the real programs use, and temporary
// config files, for the --config and --print-config tests.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "cardperso/cli/command_line.hpp"
#include "cardperso/cli/log_options.hpp"

namespace cardperso::cli::test {

struct Settings {
  std::string db, pin;
  int port = 0;
  double rate = 0;
  bool flag = false;
  std::vector<std::string> plmn;
  LogOptions log;
};

class TestProgram {
 public:
  TestProgram() {
    cl_.options().add_options()
        ("db", po::value(&s.db)->required(), "required path")
        ("port", po::value(&s.port)->default_value(7), "an integer")
        ("rate", po::value(&s.rate)->default_value(1.5), "a double")
        ("flag", po::bool_switch(&s.flag), "a bool switch")
        ("plmn", po::value(&s.plmn)->composing(), "repeatable")
        ("pin", po::value(&s.pin), "a secret")
        ("json", "a flag without a value");
    add_log_options(cl_.options(), s.log);
  }
  std::optional<int> parse(const std::vector<std::string>& args) { return cl_.parse(args, vm); }
  const CommandLine& cl() const { return cl_; }

  Settings s;
  po::variables_map vm;

 private:
  CommandLine cl_{{.name = "test-prog", .usage = "[options]", .description = "for tests"}};
};

// A file in the temporary directory, named after the test and `name`, holding text; returns its path.
inline std::string write_file(const std::string& name, const std::string& text) {
  const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::string path = ::testing::TempDir() + "/cardperso-" + test->test_suite_name() + "-" + test->name() + "-" +
                           name;
  std::ofstream(path) << text;
  return path;
}

}  // namespace cardperso::cli::test
