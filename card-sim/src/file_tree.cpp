#include "file_tree.hpp"

#include <cstdio>

namespace cardperso::cardsim::tree {

std::string fid_text(std::uint16_t fid) {
  char buf[5];
  std::snprintf(buf, sizeof buf, "%04X", static_cast<unsigned>(fid));
  return buf;
}

std::optional<std::uint16_t> parse_fid(std::string_view text) {
  if (text.size() != 4) return std::nullopt;
  std::uint16_t v = 0;
  for (char c : text) {
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else return std::nullopt;  // upper case only: one spelling per path
    v = static_cast<std::uint16_t>((v << 4) | d);
  }
  return v;
}

std::uint16_t fid_of(std::string_view path) {
  auto slash = path.rfind('/');
  auto last = slash == std::string_view::npos ? path : path.substr(slash + 1);
  return parse_fid(last).value_or(0xFFFF);
}

std::string parent_of(std::string_view path) {
  auto slash = path.rfind('/');
  if (slash == std::string_view::npos) return {};
  return std::string(path.substr(0, slash));
}

std::string child_of(std::string_view dir, std::uint16_t fid) {
  return std::string(dir) + "/" + fid_text(fid);
}

std::size_t depth_of(std::string_view path) {
  std::size_t n = path.empty() ? 0 : 1;
  for (char c : path) n += c == '/';
  return n;
}

std::size_t record_count(const CardFile& f) {
  if (f.structure == EfStructure::Transparent || f.record_length == 0) return 0;
  return f.data.size() / f.record_length;
}

const CardFile* find(const std::vector<CardFile>& files, std::string_view path) {
  for (const auto& f : files)
    if (f.path == path) return &f;
  return nullptr;
}

CardFile* find(std::vector<CardFile>& files, std::string_view path) {
  for (auto& f : files)
    if (f.path == path) return &f;
  return nullptr;
}

std::vector<const CardFile*> children_of(const std::vector<CardFile>& files, std::string_view dir) {
  std::vector<const CardFile*> out;
  for (const auto& f : files)
    if (!f.path.empty() && parent_of(f.path) == dir) out.push_back(&f);
  return out;
}

std::size_t used_memory(const std::vector<CardFile>& files) {
  std::size_t n = 0;
  for (const auto& f : files) n += f.data.size();
  return n;
}

namespace {
const CardFile* child_with_fid(const std::vector<CardFile>& files, std::string_view dir, std::uint16_t fid) {
  if (dir.empty()) return nullptr;
  return find(files, child_of(dir, fid));
}
}  // namespace

std::optional<std::string> select_by_fid(const std::vector<CardFile>& files, std::string_view current_df,
                                         std::uint16_t fid) {
  if (fid == 0x3F00) return std::string("3F00");
  if (fid_of(current_df) == fid) return std::string(current_df);
  if (auto* c = child_with_fid(files, current_df, fid)) return c->path;
  auto parent = parent_of(current_df);
  if (!parent.empty()) {
    if (fid_of(parent) == fid) return parent;
    if (auto* s = child_with_fid(files, parent, fid); s && is_directory(*s)) return s->path;
  }
  return std::nullopt;
}

std::optional<std::string> select_by_path(const std::vector<CardFile>& files, std::string_view start_dir,
                                          ByteView fid_pairs) {
  if (fid_pairs.empty() || fid_pairs.size() % 2 != 0) return std::nullopt;
  std::string at(start_dir);
  for (std::size_t i = 0; i < fid_pairs.size(); i += 2) {
    const CardFile* dir = find(files, at);
    if (!dir || !is_directory(*dir)) return std::nullopt;  // only the last step may name an EF
    const CardFile* next = child_with_fid(files, at, get_u16(fid_pairs, i));
    if (!next) return std::nullopt;
    at = next->path;
  }
  return at;
}

}  // namespace cardperso::cardsim::tree
