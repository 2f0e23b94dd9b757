#pragma once
// Plain SQL reads of an ADS database for the checks, SQLite file or PostgreSQL URL, through each
// database's own C library (not the store's code, so a check does not trust the store to read what
// it wrote). Parameters are written ?1, ?2 ...; every value comes back as text (NULL as nullopt).
#include <memory>
#include <string>
#include <vector>

#include "cardperso/testing/sqlite_rows.hpp"

namespace cardperso::testing {

class SqlReader {
 public:
  // A SQLite path (read-only, with a busy timeout) or a postgresql:// URL.
  explicit SqlReader(const std::string& location);
  ~SqlReader();
  SqlReader(const SqlReader&) = delete;
  SqlReader& operator=(const SqlReader&) = delete;

  bool postgres() const { return pg_ != nullptr; }
  // "" or what went wrong opening it.
  const std::string& open_error() const { return open_error_; }
  SqlRows query(const std::string& sql, const std::vector<std::string>& params = {});

 private:
  struct Pg;
  struct Lite;
  std::unique_ptr<Pg> pg_;
  std::unique_ptr<Lite> lite_;
  std::string open_error_;
};

}  // namespace cardperso::testing
