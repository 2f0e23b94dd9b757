#pragma once
// The tables the list commands print: a heading line, then a line a row. Every column is
// left-aligned and padded to its width; the last one (width 0) is not padded.
#include <cstddef>
#include <initializer_list>
#include <iomanip>
#include <ostream>
#include <stdexcept>
#include <string_view>
#include <vector>

namespace cardperso::adsctl {

struct Column {
  std::string_view heading;
  int width = 0;
};

class TextTable {
 public:
  // Prints the heading line.
  TextTable(std::ostream& out, std::initializer_list<Column> columns) : out_(out) {
    for (const Column& c : columns) {
      widths_.push_back(c.width);
      out_ << std::left << std::setw(c.width) << c.heading;
    }
    out_ << "\n";
  }

  // One cell a column, anything that streams.
  template <class... Cells>
  void row(const Cells&... cells) {
    if (sizeof...(cells) != widths_.size()) throw std::logic_error("TextTable::row: one cell a column");
    std::size_t i = 0;
    ((out_ << std::left << std::setw(widths_[i++]) << cells), ...);
    out_ << "\n";
  }

 private:
  std::ostream& out_;
  std::vector<int> widths_;
};

}  // namespace cardperso::adsctl
