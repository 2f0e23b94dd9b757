#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "cardperso/ste/keypad.hpp"

using namespace cardperso;

namespace {
std::string write_script(const std::string& text) {
  char path[] = "/tmp/keypad-XXXXXX";
  int fd = mkstemp(path);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  close(fd);
  return path;
}
std::string as_string(const SecretBytes& s) { return std::string(s.data(), s.data() + s.size()); }
}  // namespace

TEST(ScriptKeypad, ReadsEntriesSkippingCommentsAndBlankLines) {
  auto path = write_script("# retailer PIN\n\n1234\r\n987654\n");
  auto pad = ste::make_script_keypad("file:" + path);
  ASSERT_TRUE(pad.ok()) << pad.error().message;
  auto a = (*pad)->read_digits("PIN", 4, 8);
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(as_string(*a), "1234");
  auto b = (*pad)->read_digits("PIN", 4, 8);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(as_string(*b), "987654");
  auto c = (*pad)->read_digits("PIN", 4, 8);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("ended"), std::string::npos);
  unlink(path.c_str());
}

TEST(ScriptKeypad, RefusesNonDigitsAndWrongLengthWithoutEchoingTheEntry) {
  auto path = write_script("12a4\n123\n123456789\n");
  auto pad = ste::make_script_keypad(path);
  ASSERT_TRUE(pad.ok());
  for (int i = 0; i < 3; ++i) {
    auto r = (*pad)->read_digits("PIN", 4, 8);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message.find("12"), std::string::npos) << r.error().message;
  }
  unlink(path.c_str());
}

TEST(ScriptKeypad, ReadsFromAnFd) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  ASSERT_EQ(write(fds[1], "4321\n", 5), 5);
  close(fds[1]);
  auto pad = ste::make_script_keypad("fd:" + std::to_string(fds[0]));
  ASSERT_TRUE(pad.ok());
  auto r = (*pad)->read_digits("PIN", 4, 8);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(as_string(*r), "4321");
  close(fds[0]);
}

TEST(ScriptKeypad, ClearErrorsForMissingSources) {
  EXPECT_FALSE(ste::make_script_keypad("file:/nonexistent/keypad").ok());
  EXPECT_FALSE(ste::make_script_keypad("fd:999").ok());
  EXPECT_FALSE(ste::make_script_keypad("fd:x").ok());
}
