#include "cardperso/cli/print_config.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <optional>
#include <sstream>

#include "cardperso/cli/config_file.hpp"
#include "cardperso/common/url_credentials.hpp"

namespace cardperso::cli {

namespace {

constexpr std::string_view kSecretText = "<secret>";

// Words that make an option a secret wherever they stand in its name (pin, pair-code, admin-password).
constexpr std::array<std::string_view, 5> kSecretWords = {"pin", "puk", "pair", "password", "passphrase"};
// Names ending so hold a code or key in hex (card-code-hex, issuer-code-hex, verify-adm-hex).
constexpr std::array<std::string_view, 4> kSecretHexSuffixes = {"code-hex", "secret-hex", "key-hex", "adm-hex"};
// Whole names: cardperso-apdu's APDUs, since a VERIFY or CHANGE CHV carries a PIN or ADM code in clear.
constexpr std::array<std::string_view, 1> kSecretNames = {"apdu"};
// Last words that make the option a place, not the secret (pin-file, pin-fd, pairing-file).
constexpr std::array<std::string_view, 4> kPlaceWords = {"file", "fd", "dir", "path"};

std::vector<std::string_view> words_of(std::string_view name) {
  std::vector<std::string_view> words;
  for (std::size_t start = 0; start <= name.size();) {
    const auto dash = std::min(name.find('-', start), name.size());
    words.push_back(name.substr(start, dash - start));
    start = dash + 1;
  }
  return words;
}

template <class List>
bool contains(const List& list, std::string_view word) {
  return std::find(list.begin(), list.end(), word) != list.end();
}

template <class T>
std::optional<std::string> number_text(const boost::any& value) {
  const T* v = boost::any_cast<T>(&value);
  if (v == nullptr) return std::nullopt;
  char buffer[64];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, *v);
  if (ec != std::errc()) return std::nullopt;
  return std::string(buffer, end);
}

// The stored value as it would be typed, for the types the programs use.
std::optional<std::vector<std::string>> value_text(const boost::any& value) {
  if (const auto* s = boost::any_cast<std::string>(&value)) return std::vector{*s};
  if (const auto* v = boost::any_cast<std::vector<std::string>>(&value)) return *v;
  if (const auto* b = boost::any_cast<bool>(&value)) return std::vector<std::string>{*b ? "true" : "false"};
  for (auto text : {number_text<int>(value), number_text<unsigned>(value), number_text<long>(value),
                    number_text<unsigned long>(value), number_text<long long>(value),
                    number_text<unsigned long long>(value), number_text<std::int16_t>(value),
                    number_text<std::uint16_t>(value), number_text<std::uint8_t>(value), number_text<double>(value),
                    number_text<float>(value)})
    if (text) return std::vector{*text};
  return std::nullopt;
}

// A custom type's default as --help shows it: "arg (=info)" gives "info".
std::optional<std::string> default_text(const po::option_description& d) {
  const std::string shown = d.format_parameter();
  const auto open = shown.find(" (=");
  if (open == std::string::npos || shown.back() != ')') return std::nullopt;
  return shown.substr(open + 3, shown.size() - open - 4);
}

}  // namespace

bool is_secret_option(std::string_view name, bool takes_value) {
  if (!takes_value) return false;
  if (contains(kSecretNames, name)) return true;
  const auto words = words_of(name);
  if (contains(kPlaceWords, words.back())) return false;
  for (const auto suffix : kSecretHexSuffixes)
    if (name == suffix || name.ends_with("-" + std::string(suffix))) return true;
  return std::any_of(words.begin(), words.end(), [](std::string_view w) { return contains(kSecretWords, w); });
}

std::string print_config(const po::options_description& options, const po::variables_map& vm,
                         const std::vector<po::option>& given) {
  std::ostringstream out;
  for (const auto& d : options.options()) {
    const std::string& name = d->long_name();
    if (name.empty() || contains(kCommandLineOnlyOptions, name) || vm.count(name) == 0U) continue;
    std::vector<std::string> values;
    for (const auto& o : given) {
      if (o.string_key != name) continue;
      if (!o.value.empty()) {
        values.insert(values.end(), o.value.begin(), o.value.end());
      } else {
        // A switch, or an option with an implicit value: what it holds. A value-less flag holds "".
        auto text = value_text(vm[name].value());
        values.push_back(text && text->size() == 1 && !text->front().empty() ? text->front() : "true");
      }
    }
    if (values.empty()) {
      if (auto text = value_text(vm[name].value())) {
        values = std::move(*text);
      } else if (auto shown = default_text(*d)) {
        values = {std::move(*shown)};
      } else {
        continue;  // no text for it: better left out than printed wrong
      }
    }
    if (is_secret_option(name, d->semantic()->max_tokens() > 0)) values = {std::string(kSecretText)};
    for (auto& v : values) v = redact_url_credentials(v);  // e.g. --db postgresql://user:password@...
    for (const auto& v : values) out << name << " = " << v << "\n";
  }
  return out.str();
}

}  // namespace cardperso::cli
