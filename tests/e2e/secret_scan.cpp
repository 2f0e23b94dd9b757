#include "secret_scan.hpp"

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include "cardperso/common/crypto.hpp"

namespace cardperso::e2e {

namespace {

constexpr std::array<std::string_view, 10> kCodeWords = {"pin", "puk", "chv", "code", "unblock",
                                                         "adm", "keypad", "secret", "typed", "entry"};

bool is_digit(char c) { return c >= '0' && c <= '9'; }

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string_view as_text(const SecretBytes& s) { return {reinterpret_cast<const char*>(s.data()), s.size()}; }

// Lower-case hex of secret with sep between bytes, built straight into wiped memory.
SecretBytes hex_form(ByteView secret, std::string_view sep) {
  static constexpr char kDigits[] = "0123456789abcdef";
  SecretBytes out(secret.size() * 2 + (secret.empty() ? 0 : (secret.size() - 1) * sep.size()));
  std::size_t o = 0;
  for (std::size_t i = 0; i < secret.size(); ++i) {
    if (i > 0)
      for (char c : sep) out.data()[o++] = static_cast<std::uint8_t>(c);
    out.data()[o++] = static_cast<std::uint8_t>(kDigits[secret[i] >> 4]);
    out.data()[o++] = static_cast<std::uint8_t>(kDigits[secret[i] & 0x0F]);
  }
  return out;
}

std::size_t line_of(std::string_view text, std::size_t offset) {
  return 1 + static_cast<std::size_t>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(offset), '\n'));
}

bool bounded(std::string_view text, std::size_t at, std::size_t length) {
  return (at == 0 || !is_digit(text[at - 1])) && (at + length >= text.size() || !is_digit(text[at + length]));
}

// A word naming a code on the same line, at most kContextWindow characters before `at`.
bool in_code_context(std::string_view lowered, std::size_t at) {
  std::size_t from = at > SecretScanner::kContextWindow ? at - SecretScanner::kContextWindow : 0;
  const std::size_t nl = lowered.rfind('\n', at == 0 ? 0 : at - 1);
  if (nl != std::string_view::npos && nl + 1 > from && nl < at) from = nl + 1;
  const std::string_view before = lowered.substr(from, at - from);
  return std::any_of(kCodeWords.begin(), kCodeWords.end(),
                     [&](std::string_view w) { return before.find(w) != std::string_view::npos; });
}

}  // namespace

std::string describe(const SecretFinding& f) {
  return f.kind + " (" + f.form + ") in " + f.file + (f.line > 0 ? " line " + std::to_string(f.line) : "");
}

void SecretScanner::add_pattern(const std::string& kind, std::string form, ByteView bytes, Match match) {
  for (const auto& p : patterns_)
    if (p.kind == kind && p.match == match && p.bytes.view().size() == bytes.size() &&
        std::equal(bytes.begin(), bytes.end(), p.bytes.view().begin()))
      return;  // e.g. a secret whose hex has no letters: upper and lower case are one pattern
  patterns_.push_back(Pattern{kind, std::move(form), SecretBytes(bytes), match});
}

void SecretScanner::add_hex_forms(const std::string& kind, const std::string& what, ByteView secret) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 4> kSeparators = {
      {{"", "no separator"}, {" ", "' ' between bytes"}, {":", "':' between bytes"}, {"-", "'-' between bytes"}}};
  for (const auto& [sep, name] : kSeparators) {
    const SecretBytes form = hex_form(secret, sep);
    add_pattern(kind, what + "hex upper/lower, " + std::string(name), form.view(), Match::CaseBlind);
  }
}

bool SecretScanner::seen_before(char type, ByteView value) {
  SecretBytes tagged(value.size() + 1);
  tagged.data()[0] = static_cast<std::uint8_t>(type);
  std::copy(value.begin(), value.end(), tagged.data() + 1);
  const bool fresh = seen_.insert(to_hex(crypto::sha256(tagged.view()))).second;
  if (!fresh) ++duplicates_;
  return !fresh;
}

void SecretScanner::add_bytes(const std::string& kind, ByteView secret) {
  if (secret.size() < 4) throw std::logic_error("secret scan: " + kind + " is shorter than 4 bytes");
  if (seen_before('b', secret)) return;
  add_hex_forms(kind, "", secret);
  add_pattern(kind, "raw bytes", secret, Match::Exact);
  ++secrets_;
}

void SecretScanner::add_digits(const std::string& kind, std::string_view digits) {
  if (digits.size() < 4 || digits.size() > 16 || !std::all_of(digits.begin(), digits.end(), is_digit))
    throw std::logic_error("secret scan: " + kind + " is not 4..16 ASCII digits");
  const std::string text(digits);
  const ByteView ascii = view(text);
  if (seen_before('d', ascii)) return;
  add_hex_forms(kind, "ASCII digits as ", ascii);
  if (digits.size() < 8) {  // 8 digits fill the code file: no padding, the forms above
    SecretBytes padded(8);
    std::fill(padded.data(), padded.data() + 8, 0xFF);
    std::copy(ascii.begin(), ascii.end(), padded.data());
    add_hex_forms(kind, "code file value (digits, FF padding) as ", padded.view());
    add_pattern(kind, "code file value, raw", padded.view(), Match::Exact);
  }
  add_pattern(kind, digits.size() >= kMinBareDigits ? "ASCII digits" : "ASCII digits after a code word", ascii,
              digits.size() >= kMinBareDigits ? Match::DigitsBounded : Match::DigitsInContext);
  ++secrets_;
}

// Patterns run in the order added; a secret's forms from the most to the least specific.
std::vector<SecretFinding> SecretScanner::scan(const std::string& file, std::string_view text) const {
  std::string lowered(text);
  std::transform(lowered.begin(), lowered.end(), lowered.begin(), lower);
  std::vector<SecretFinding> found;
  for (const auto& p : patterns_) {
    const std::string_view needle = as_text(p.bytes);
    const std::string_view haystack = p.match == Match::Exact ? text : std::string_view(lowered);
    std::size_t at = haystack.find(needle);
    if (p.match == Match::DigitsBounded || p.match == Match::DigitsInContext) {
      while (at != std::string_view::npos &&
             !(bounded(text, at, needle.size()) && (p.match == Match::DigitsBounded || in_code_context(lowered, at))))
        at = haystack.find(needle, at + 1);
    }
    if (at == std::string_view::npos) continue;
    const std::size_t line = line_of(text, at);
    // One finding per secret and line: "31323334FFFFFFFF" is both the ASCII-hex and the code-file form.
    const bool known = std::any_of(found.begin(), found.end(),
                                   [&](const SecretFinding& f) { return f.kind == p.kind && f.line == line; });
    if (!known) found.push_back(SecretFinding{p.kind, p.form, file, line});
  }
  secure_wipe(lowered.data(), lowered.size());
  return found;
}

ScanSummary scan_directory(const SecretScanner& scanner, const std::string& dir,
                           const std::function<bool(const std::string&)>& holds_secrets) {
  namespace fs = std::filesystem;
  ScanSummary summary;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    const std::string relative = fs::relative(it->path(), dir, ec).string();
    if (holds_secrets(relative)) {
      summary.skipped.push_back(relative);
      continue;
    }
    std::ifstream in(it->path(), std::ios::binary);
    if (!in) {
      summary.findings.push_back(SecretFinding{"(cannot read the file)", "-", relative, 0});
      continue;
    }
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ++summary.files;
    summary.bytes += text.size();
    for (auto& f : scanner.scan(relative, text)) summary.findings.push_back(std::move(f));
    secure_wipe(text.data(), text.size());
  }
  if (ec) summary.findings.push_back(SecretFinding{"(cannot list the directory: " + ec.message() + ")", "-", dir, 0});
  return summary;
}

}  // namespace cardperso::e2e
