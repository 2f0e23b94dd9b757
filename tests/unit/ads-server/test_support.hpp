#pragma once
// Shared by the ads-server tests: a temporary directory, unwrapping Results, and raw SQL on a second
// connection (what someone with write access to the database file could do).
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "cardperso/common/bytes.hpp"
#include "cardperso/common/result.hpp"

namespace cardperso::ads::test {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

template <class T>
T must(Result<T> r) {
  if (!r) throw std::runtime_error("unexpected error: " + r.error().message);
  return std::move(r).value();
}
inline void must(Result<void> r) {
  if (!r) throw std::runtime_error("unexpected error: " + r.error().message);
}

// Runs SQL on its own connection; returns the SQLite error message, empty on success.
std::string raw_exec(const std::string& db_path, const std::string& sql);
// SELECT of one blob / integer value.
Bytes raw_blob(const std::string& db_path, const std::string& sql);
std::int64_t raw_int(const std::string& db_path, const std::string& sql);
// UPDATE ... SET column = ?1 with a bound blob.
std::string raw_set_blob(const std::string& db_path, const std::string& sql, ByteView blob);

Bytes read_file(const std::string& path);
// Everything the database holds, as someone who can read it would see it: the SQLite file and its
// WAL, or on PostgreSQL every column of every table (blobs as their bytes, the rest as text). Never
// empty for a database that holds an ADS, so a "not in it" check cannot pass on nothing.
Bytes database_contents(const std::string& db_path);
void write_file(const std::string& path, const std::string& content, unsigned mode);
unsigned file_mode(const std::string& path);
bool contains(ByteView haystack, ByteView needle);

}  // namespace cardperso::ads::test
