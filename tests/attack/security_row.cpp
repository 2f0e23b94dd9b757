#include "security_row.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace cardperso::attack {
namespace {

// A markdown table cell: a '|' would end the cell, a newline the row.
std::string cell(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '|') out += "\\|";
    else if (c == '\n') out += ' ';
    else out += c;
  }
  return out;
}

}  // namespace

void write_security_row(const SecurityRow& row, std::string_view file_stem, bool failed) {
  const char* dir = std::getenv("CARDPERSO_SECURITY_ROWS");
  if (dir == nullptr || *dir == '\0' || row.attack.empty()) return;
  std::string observed;
  for (const auto& o : row.observed) observed += (observed.empty() ? "" : "; ") + o;
  std::filesystem::create_directories(dir);
  std::ofstream(std::string(dir) + "/" + std::string(file_stem) + ".md")
      << "| " << cell(row.attack) << " | " << cell(row.where) << " | " << cell(row.expected) << " | "
      << cell(observed) << " | " << (failed ? "**FAIL**" : "pass") << " |\n";
}

}  // namespace cardperso::attack
