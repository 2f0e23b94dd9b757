#include "cardperso/ads/store/csv_batch.hpp"

#include <algorithm>
#include <optional>
#include <unordered_map>

#include "cardperso/ads/store/card_codes.hpp"

namespace cardperso::ads {

namespace {

// A std::string that held a code is wiped before it is freed.
struct WipedFields {
  std::vector<std::string> fields;
  ~WipedFields() {
    for (auto& f : fields)
      if (!f.empty()) secure_wipe(f.data(), f.size());
  }
};

// Splits one line (without its line end) into fields; fails on a malformed quote.
Result<void> split_line(std::string_view line, std::vector<std::string>& out) {
  out.clear();
  std::string field;
  std::size_t i = 0;
  for (;;) {
    field.clear();
    if (i < line.size() && line[i] == '"') {
      ++i;
      for (;;) {
        if (i >= line.size()) return fail("a quoted field is not closed");
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            field.push_back('"');
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        field.push_back(line[i++]);
      }
      if (i < line.size() && line[i] != ',') return fail("text after a closing quote");
    } else {
      while (i < line.size() && line[i] != ',') {
        if (line[i] == '"') return fail("a quote inside an unquoted field");
        field.push_back(line[i++]);
      }
    }
    out.push_back(field);
    if (field.size() > 0) secure_wipe(field.data(), field.size());
    if (i >= line.size()) return {};
    ++i;  // the comma
  }
}

std::string trim(std::string s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string::npos) return {};
  const auto last = s.find_last_not_of(" \t");
  return s.substr(first, last - first + 1);
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

Result<std::vector<CsvCard>> parse_csv_batch(std::string_view text, std::string_view source) {
  const std::string src(source);
  if (text.size() > kMaxCsvBytes) {
    return fail(src + ": file too large (over " + std::to_string(kMaxCsvBytes / (1024 * 1024)) +
                " MiB); split the batch");
  }
  std::vector<CsvCard> cards;
  std::optional<std::size_t> iccid_col, adm_col;
  bool adm_is_hex = false;
  std::size_t columns = 0;
  std::unordered_map<std::string, std::size_t> seen;  // ICCID -> line
  WipedFields row;

  std::size_t pos = 0, line_no = 0;
  while (pos < text.size()) {
    const std::size_t end = text.find('\n', pos);
    std::string_view line = text.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    pos = end == std::string_view::npos ? text.size() : end + 1;
    ++line_no;
    const std::string at = src + " line " + std::to_string(line_no) + ": ";
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() > kMaxCsvLine) return fail(at + "line longer than " + std::to_string(kMaxCsvLine) + " characters");
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    if (auto split = split_line(line, row.fields); !split) return fail(at + split.error().message);

    if (!iccid_col) {  // the header
      columns = row.fields.size();
      std::vector<std::string> adm_names;
      for (std::size_t c = 0; c < columns; ++c) {
        const std::string name = lower(trim(row.fields[c]));
        if (name == "iccid") {
          if (iccid_col) return fail(at + "the header names iccid twice");
          iccid_col = c;
        } else if (name == "adm1" || name == "pin_adm" || name == "pin_adm_hex") {
          adm_names.push_back(name);
          adm_col = c;
          adm_is_hex = name == "pin_adm_hex";
        }
      }
      if (!iccid_col) return fail(at + "the header has no iccid column (the first line must name the columns)");
      if (adm_names.empty()) return fail(at + "the header has no adm1, pin_adm or pin_adm_hex column");
      if (adm_names.size() > 1) {
        return fail(at + "the header has more than one ADM column (" + adm_names[0] + ", " + adm_names[1] +
                    "); keep exactly one");
      }
      continue;
    }

    if (row.fields.size() != columns) {
      return fail(at + "has " + std::to_string(row.fields.size()) + " fields, the header has " +
                  std::to_string(columns));
    }
    const std::string iccid = trim(row.fields[*iccid_col]);
    if (auto ok = check_iccid(iccid); !ok) return fail(at + ok.error().message);
    std::string adm = trim(row.fields[*adm_col]);
    auto code = adm_is_hex ? encode_adm_hex(adm) : encode_adm_digits(adm);
    if (!adm.empty()) secure_wipe(adm.data(), adm.size());
    if (!code) {
      return fail(at + "ADM code of ICCID " + iccid + " " + code.error().message);
    }
    if (auto [it, fresh] = seen.emplace(iccid, line_no); !fresh) {
      return fail(at + "ICCID " + iccid + " is already on line " + std::to_string(it->second));
    }
    if (cards.size() >= kMaxCsvCards) return fail(at + "more than " + std::to_string(kMaxCsvCards) + " cards");
    cards.push_back(CsvCard{line_no, iccid, std::move(code).value()});
  }
  if (!iccid_col) return fail(src + ": the file is empty; expected a header line and one line per card");
  if (cards.empty()) return fail(src + ": the file has a header but no cards");
  return cards;
}

}  // namespace cardperso::ads
