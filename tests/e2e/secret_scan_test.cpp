// The e2e secret scanner finds every form of every secret it is given, and only those: a scanner
// that silently misses a form would let the teardown scan of the e2e runs pass while a secret leaks.
#include "secret_scan.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "cardperso/common/crypto.hpp"

namespace cardperso::e2e {
namespace {

const Bytes kKey = hex("00a1b2c3d4e5f60718293a4b5c6d7e8f");

SecretScanner key_scanner() {
  SecretScanner s;
  s.add_bytes("retailer K_S", kKey);
  return s;
}

std::string raw(ByteView b) { return std::string(reinterpret_cast<const char*>(b.data()), b.size()); }

TEST(SecretScan, FindsEveryFormOfABinarySecret) {
  const SecretScanner s = key_scanner();
  const std::vector<std::string> leaks = {
      "key 00A1B2C3D4E5F60718293A4B5C6D7E8F",
      "key 00a1b2c3d4e5f60718293a4b5c6d7e8f",
      "key 00a1B2c3D4e5F60718293a4B5c6D7e8F",
      "key 00 A1 B2 C3 D4 E5 F6 07 18 29 3A 4B 5C 6D 7E 8F",
      "key 00 a1 b2 c3 d4 e5 f6 07 18 29 3a 4b 5c 6d 7e 8f",
      "key 00:a1:b2:c3:d4:e5:f6:07:18:29:3a:4b:5c:6d:7e:8f",
      "key 00-A1-B2-C3-D4-E5-F6-07-18-29-3A-4B-5C-6D-7E-8F",
      "key " + raw(kKey) + " end",
  };
  for (const auto& leak : leaks) {
    const auto found = s.scan("a.log", "first line\n" + leak + "\n");
    ASSERT_EQ(found.size(), 1u) << leak;
    EXPECT_EQ(found[0].kind, "retailer K_S");
    EXPECT_EQ(found[0].file, "a.log");
    EXPECT_EQ(found[0].line, 2u);
  }
  EXPECT_EQ(s.secrets(), 1u);
  EXPECT_EQ(s.patterns(), 5u);  // 4 hex separators + raw
}

TEST(SecretScan, ReportsNothingForOtherBytesOrAPartOfTheKey) {
  const SecretScanner s = key_scanner();
  EXPECT_TRUE(s.scan("a.log", "key 00A1B2C3D4E5F60718293A4B5C6D7E80\n").empty());  // last nibble differs
  EXPECT_TRUE(s.scan("a.log", "key 00A1B2C3D4E5F607\n").empty());                  // first half only
  EXPECT_TRUE(s.scan("a.log", "").empty());
}

TEST(SecretScan, LongDigitSecretIsFoundAsTextButNotInsideLongerNumbers) {
  SecretScanner s;
  s.add_digits("customer PUK", "48151623");
  EXPECT_EQ(s.scan("x", "PUK=48151623\n").size(), 1u);
  EXPECT_EQ(s.scan("x", "48151623").size(), 1u);
  EXPECT_EQ(s.scan("x", "typed 48151623.").size(), 1u);
  // Inside an ICCID or a timestamp the same digits are chance, not a leak.
  EXPECT_TRUE(s.scan("x", "iccid 8988211048151623003\nt=1748151623999\n").empty());
  // Its ASCII as hex, and the 8-byte code-file value, in any case and separator.
  EXPECT_EQ(s.scan("x", "data 3438313531363233\n").size(), 1u);
  EXPECT_EQ(s.scan("x", "data 34 38 31 35 31 36 32 33\n").size(), 1u);
  // Two forms on one line are one finding; on two lines, two.
  auto found = s.scan("y.stderr", "l1\nl2\nPUK 48151623 and 3438313531363233\n");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].line, 3u);
  found = s.scan("y.stderr", "PUK 48151623\nthen 3438313531363233\n");
  ASSERT_EQ(found.size(), 2u);
  EXPECT_NE(found[0].line, found[1].line);
}

TEST(SecretScan, ShortPinIsFoundOnlyNextToACodeWord) {
  SecretScanner s;
  s.add_digits("customer PIN", "1234");
  for (const char* leak : {"PIN=1234", "pin: 1234", "chv1 value 1234", "keypad entry '1234'", "Code 1234\n"})
    EXPECT_EQ(s.scan("x", leak).size(), 1u) << leak;
  for (const char* chance : {"port 1234", "session 12345 pin", "pin 91234", "PIN ok\n1234", "listening on :1234"})
    EXPECT_TRUE(s.scan("x", chance).empty()) << chance;
  // As the padded code-file value it is long enough to match anywhere.
  EXPECT_EQ(s.scan("x", "apdu A0DC01000831323334FFFFFFFF").size(), 1u);
  EXPECT_EQ(s.scan("x", "31 32 33 34 ff ff ff ff").size(), 1u);
  std::string padded_raw = "1234";
  padded_raw.append(4, '\xFF');
  EXPECT_EQ(s.scan("x", "bytes " + padded_raw).size(), 1u);
}

TEST(SecretScan, DescribeNamesKindFormFileAndLineButNotTheSecret) {
  SecretScanner s;
  s.add_digits("retailer PIN", "80417263");
  const auto found = s.scan("ste-1.log", "a\nb\nPIN 80417263\n");
  ASSERT_EQ(found.size(), 1u);
  const std::string text = describe(found[0]);
  EXPECT_EQ(text, "retailer PIN (ASCII digits) in ste-1.log line 3");
  EXPECT_EQ(text.find("80417263"), std::string::npos);
}

TEST(SecretScan, RefusesSecretsTooShortToScanFor) {
  SecretScanner s;
  EXPECT_THROW(s.add_bytes("x", hex("0102")), std::logic_error);
  EXPECT_THROW(s.add_digits("x", "123"), std::logic_error);
  EXPECT_THROW(s.add_digits("x", "12a4"), std::logic_error);
}

TEST(SecretScan, ScansEveryFileOfADirectoryButTheSecretStores) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("secret-scan-" + to_hex(crypto::random_bytes(6)));
  fs::create_directories(dir / "receipts");
  std::ofstream(dir / "ads.log") << "start\nK_S=" << to_hex(kKey) << "\n";
  std::ofstream(dir / "dtd.stderr") << "nothing here\n";
  std::ofstream(dir / "receipts" / "r1.txt") << "MSISDN +41790000001\nkey " << raw(kKey) << "\n";
  std::ofstream(dir / "ads.db") << raw(kKey);  // a secret store: skipped
  const auto summary = scan_directory(key_scanner(), dir.string(), [](const std::string& f) { return f == "ads.db"; });
  EXPECT_EQ(summary.files, 3u);
  ASSERT_EQ(summary.skipped.size(), 1u);
  EXPECT_EQ(summary.skipped[0], "ads.db");
  ASSERT_EQ(summary.findings.size(), 2u);
  std::vector<std::string> where;
  for (const auto& f : summary.findings) where.push_back(f.file + ":" + std::to_string(f.line));
  std::sort(where.begin(), where.end());
  EXPECT_EQ(where, (std::vector<std::string>{"ads.log:2", "receipts/r1.txt:2"}));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace cardperso::e2e
