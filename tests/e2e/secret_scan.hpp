#pragma once
// The secret scan of the end-to-end runs (docs/security.md "Secrets"): every key, PIN, PUK, code and
// Ki/OPc a run used is looked for in every log, captured output and printed document the run left,
// in every form a careless log line would give it. A finding names the secret's kind, the form, the
// file and the line, never the secret itself.
//
// Forms of a binary secret (key, code; 4+ bytes): hex upper and lower case (any mix: hex is compared
// case-blind), with nothing, ' ', ':' or '-' between bytes, and the raw bytes.
// Forms of a digit secret (PIN, PUK, random CHV2/UNBLOCK2): the hex forms above of its ASCII digits,
// and of the 8-byte code-file value (digits padded with FF), plus the digits as text:
//   - 8+ digits: anywhere, not inside a longer run of digits (so a timestamp or an ICCID that happens
//     to contain them is not a finding, and a PIN written as "PIN=48151623" or "48151623" is);
//   - fewer digits: only after a word that names a code (pin, puk, chv, code, unblock, adm, keypad,
//     secret, typed, entry) earlier on the same line within 24 characters: "1234" alone occurs in
//     any log by chance, "PIN 1234" or "pin=1234" does not.
#include <cstddef>
#include <functional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "cardperso/common/bytes.hpp"
#include "cardperso/common/secret_bytes.hpp"

namespace cardperso::e2e {

struct SecretFinding {
  std::string kind;  // e.g. "customer PIN", "retailer K_RA"
  std::string form;  // e.g. "hex upper/lower, ':' between bytes", "ASCII digits"
  std::string file;
  std::size_t line = 0;  // from 1
};

// "customer PIN (ASCII digits) in ste-1.log line 12": what a failure prints.
std::string describe(const SecretFinding& finding);

class SecretScanner {
 public:
  static constexpr std::size_t kMinBareDigits = 8;
  static constexpr std::size_t kContextWindow = 24;

  // A key or code: 4 bytes or more (shorter ones are a programmer error: they match by chance).
  // A value already added (under any kind) is not added again: the first kind names it.
  void add_bytes(const std::string& kind, ByteView secret);
  // A code typed or chosen as ASCII digits (4..16 digits; anything else is a programmer error).
  void add_digits(const std::string& kind, std::string_view digits);

  std::size_t secrets() const { return secrets_; }  // distinct values
  std::size_t duplicates() const { return duplicates_; }  // values offered again from another source
  std::size_t patterns() const { return patterns_.size(); }

  // The first occurrence of each form of each secret in text, one finding per secret and line.
  std::vector<SecretFinding> scan(const std::string& file, std::string_view text) const;

 private:
  enum class Match { Exact, CaseBlind, DigitsBounded, DigitsInContext };
  struct Pattern {
    std::string kind, form;
    SecretBytes bytes;  // lower case for CaseBlind
    Match match = Match::Exact;
  };
  void add_pattern(const std::string& kind, std::string form, ByteView bytes, Match match);
  void add_hex_forms(const std::string& kind, const std::string& what, ByteView secret);
  bool seen_before(char type, ByteView value);

  std::vector<Pattern> patterns_;
  std::size_t secrets_ = 0;
  std::size_t duplicates_ = 0;
  std::set<std::string> seen_;  // SHA-256 of type || value: identities, not the values
};

struct ScanSummary {
  std::size_t files = 0;  // files (and captured outputs) scanned
  std::size_t bytes = 0;
  std::vector<std::string> skipped;  // files that hold secrets by design (paths relative to the dir)
  std::vector<SecretFinding> findings;
};

// Scans every regular file under dir, recursively (file names relative to dir), except those for
// which holds_secrets(relative path) is true: the secret stores themselves (database, key files,
// card images, keypad scripts). Unreadable files count as findings ("cannot read").
ScanSummary scan_directory(const SecretScanner& scanner, const std::string& dir,
                           const std::function<bool(const std::string&)>& holds_secrets);

}  // namespace cardperso::e2e
