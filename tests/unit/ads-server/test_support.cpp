#include "test_support.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace cardperso::ads::test {

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "ads-test-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

namespace {
struct Conn {
  sqlite3* db = nullptr;
  explicit Conn(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK)
      throw std::runtime_error("raw open failed: " + path);
    sqlite3_busy_timeout(db, 5000);
  }
  ~Conn() { sqlite3_close_v2(db); }
};

std::string step_one(sqlite3* db, const std::string& sql, ByteView bind_blob, bool bind, Bytes* blob_out,
                     std::int64_t* int_out) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) return sqlite3_errmsg(db);
  if (bind) sqlite3_bind_blob(stmt, 1, bind_blob.data(), static_cast<int>(bind_blob.size()), SQLITE_TRANSIENT);
  const int rc = sqlite3_step(stmt);
  std::string error;
  if (rc == SQLITE_ROW) {
    if (blob_out != nullptr) {
      const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(stmt, 0));
      blob_out->assign(p, p + sqlite3_column_bytes(stmt, 0));
    }
    if (int_out != nullptr) *int_out = sqlite3_column_int64(stmt, 0);
  } else if (rc != SQLITE_DONE) {
    error = sqlite3_errmsg(db);
  } else if (blob_out != nullptr || int_out != nullptr) {
    error = "no row";
  }
  sqlite3_finalize(stmt);
  return error;
}
}  // namespace

std::string raw_exec(const std::string& db_path, const std::string& sql) {
  Conn c(db_path);
  char* err = nullptr;
  if (sqlite3_exec(c.db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string message = err != nullptr ? err : "error";
    sqlite3_free(err);
    return message;
  }
  return {};
}

Bytes raw_blob(const std::string& db_path, const std::string& sql) {
  Conn c(db_path);
  Bytes out;
  const auto err = step_one(c.db, sql, {}, false, &out, nullptr);
  if (!err.empty()) throw std::runtime_error(err);
  return out;
}

std::int64_t raw_int(const std::string& db_path, const std::string& sql) {
  Conn c(db_path);
  std::int64_t out = 0;
  const auto err = step_one(c.db, sql, {}, false, nullptr, &out);
  if (!err.empty()) throw std::runtime_error(err);
  return out;
}

std::string raw_set_blob(const std::string& db_path, const std::string& sql, ByteView blob) {
  Conn c(db_path);
  return step_one(c.db, sql, blob, true, nullptr, nullptr);
}

Bytes read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_file(const std::string& path, const std::string& content, unsigned mode) {
  ::unlink(path.c_str());
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) throw std::runtime_error("cannot create " + path);
  if (::write(fd, content.data(), content.size()) != static_cast<ssize_t>(content.size())) {
    ::close(fd);
    throw std::runtime_error("cannot write " + path);
  }
  ::fchmod(fd, mode);
  ::close(fd);
}

unsigned file_mode(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0xFFFF;
  return st.st_mode & 07777;
}

bool contains(ByteView haystack, ByteView needle) {
  return !needle.empty() && std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end()) != haystack.end();
}

}  // namespace cardperso::ads::test
