#include "cardperso/cli/config_file.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

namespace cardperso::cli {

namespace {

// A config file is a few dozen lines; the cap keeps `--config /dev/zero` from eating the memory.
constexpr std::size_t kMaxConfigBytes = 1024 * 1024;

struct ScannedLine {
  int line = 0;
  std::string name, value;
};

// Boost's trim_ws.
std::string trim(const std::string& s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1);
}

Result<std::string> read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail("cannot read the config file " + path + ": " + std::strerror(errno));
  std::string text;
  char chunk[4096];
  while (in.read(chunk, sizeof chunk) || in.gcount() > 0) {
    text.append(chunk, static_cast<std::size_t>(in.gcount()));
    if (text.size() > kMaxConfigBytes)
      return fail("the config file " + path + " is over 1 MiB; it should be a few lines");
  }
  if (in.bad()) return fail("cannot read the config file " + path + ": " + std::strerror(errno));
  return text;
}

// The lines Boost's common_config_file_iterator turns into options, with their numbers: '#' starts
// a comment, "[section]" prefixes the names after it with "section.", anything else needs '='.
Result<std::vector<ScannedLine>> scan(const std::string& path, const std::string& text) {
  std::vector<ScannedLine> out;
  std::istringstream in(text);
  std::string raw, prefix;
  for (int number = 1; std::getline(in, raw); ++number) {
    std::string s = trim(raw.substr(0, raw.find('#')));
    if (s.empty()) continue;
    if (s.front() == '[' && s.back() == ']') {
      prefix = s.substr(1, s.size() - 2);
      if (prefix.empty() || prefix.back() != '.') prefix += '.';
      continue;
    }
    const auto eq = s.find('=');
    // The line itself is not repeated: it may be a PIN typed on the wrong line.
    if (eq == std::string::npos)
      return fail(path + " line " + std::to_string(number) + ": expected `name = value` (or a # comment)");
    out.push_back({number, prefix + trim(s.substr(0, eq)), trim(s.substr(eq + 1))});
  }
  return out;
}

bool command_line_only(const std::string& name) {
  return std::find(kCommandLineOnlyOptions.begin(), kCommandLineOnlyOptions.end(), name) !=
         kCommandLineOnlyOptions.end();
}

// A value-less flag (`("json", "...")`): Boost would store any text as "given", `false` included.
bool is_plain_flag(const po::option_description& d) {
  return dynamic_cast<const po::untyped_value*>(d.semantic().get()) != nullptr && d.semantic()->max_tokens() == 0;
}

std::optional<bool> switch_value(std::string value) {
  std::transform(value.begin(), value.end(), value.begin(), [](unsigned char c) { return std::tolower(c); });
  if (value == "true" || value == "yes" || value == "on" || value == "1") return true;
  if (value == "false" || value == "no" || value == "off" || value == "0") return false;
  return std::nullopt;
}

}  // namespace

Result<ConfigFile> read_config_file(const std::string& path, const po::options_description& known) {
  auto text = read_text(path);
  if (!text) return text.error();
  auto lines = scan(path, *text);
  if (!lines) return lines.error();
  auto at = [&path](int line) { return path + " line " + std::to_string(line) + ": "; };
  for (const auto& l : *lines) {
    if (l.name.empty()) return fail(at(l.line) + "no option name before '='");
    if (command_line_only(l.name)) return fail(at(l.line) + "'" + l.name + "' only works on the command line");
    if (known.find_nothrow(l.name, false) == nullptr)
      return fail(at(l.line) + "unknown option '" + l.name +
                  "' (the names are the long options of --help, without --)");
  }
  ConfigFile file{.path = path, .options = {}, .lines = {}};
  try {
    std::istringstream in(*text);
    auto parsed = po::parse_config_file(in, known, false);
    if (parsed.options.size() != lines->size())
      return fail("the config file " + path + " was read differently by Boost.Program_options; please report this");
    for (std::size_t i = 0; i < lines->size(); ++i) {
      po::option& option = parsed.options[i];
      const int line = (*lines)[i].line;
      if (is_plain_flag(known.find(option.string_key, false))) {
        const auto on = switch_value(option.value.empty() ? "" : option.value.front());
        if (!on) return fail(at(line) + "'" + option.string_key + "' is a switch: true or false");
        if (!*on) continue;
        option.value.clear();
      }
      file.options.push_back(std::move(option));
      file.lines.push_back(line);
    }
  } catch (const po::error& e) {
    return fail(path + ": " + e.what());
  }
  return file;
}

Result<std::vector<po::option>> store_config_file(const ConfigFile& file, const po::options_description& known,
                                                  const std::vector<po::option>& command_line,
                                                  po::variables_map& vm) {
  std::set<std::string> given;
  for (const auto& o : command_line) given.insert(o.string_key);
  po::parsed_options from_file(&known);
  std::vector<int> lines;
  for (std::size_t i = 0; i < file.options.size(); ++i) {
    const po::option& option = file.options[i];
    if (given.count(option.string_key) != 0U) continue;
    // Each value alone through its validator first: Boost's error would not say which line.
    try {
      po::parsed_options one(&known);
      one.options.push_back(option);
      po::variables_map scratch;
      po::store(one, scratch);
    } catch (const po::error& e) {
      return fail(file.path + " line " + std::to_string(file.lines[i]) + ": " + e.what());
    }
    from_file.options.push_back(option);
    lines.push_back(file.lines[i]);
  }
  try {
    po::store(from_file, vm);
  } catch (const po::error_with_option_name& e) {
    // A second line for an option that takes one value: name that line.
    int seen = 0;
    for (std::size_t i = 0; i < from_file.options.size(); ++i) {
      if (from_file.options[i].string_key != e.get_option_name() || ++seen < 2) continue;
      return fail(file.path + " line " + std::to_string(lines[i]) + ": " + e.what());
    }
    return fail(file.path + ": " + e.what());
  } catch (const po::error& e) {
    return fail(file.path + ": " + e.what());
  }
  return from_file.options;
}

}  // namespace cardperso::cli
