#include "test_support.hpp"

#include <fcntl.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>

#include "cardperso/ads/store/schema_dialect.hpp"

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

bool is_postgres(const std::string& location) { return location.rfind("postgres", 0) == 0; }

// The same raw access on PostgreSQL: one statement, ?1 (a blob) sent as $1 in binary form, the
// first column of the first row read in binary (a blob) or text (an integer) form.
std::string pg_step_one(const std::string& url, std::string sql, ByteView bind_blob, bool bind, Bytes* blob_out,
                        std::int64_t* int_out) {
  if (const auto p = sql.find("?1"); p != std::string::npos) sql.replace(p, 2, "$1");
  PGconn* conn = PQconnectdb(url.c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string e = PQerrorMessage(conn);
    PQfinish(conn);
    return e;
  }
  const char* value = reinterpret_cast<const char*>(bind_blob.data());
  const int length = static_cast<int>(bind_blob.size());
  const int format = 1;
  const Oid bytea = 17;
  PGresult* res = bind ? PQexecParams(conn, sql.c_str(), 1, &bytea, &value, &length, &format, blob_out != nullptr ? 1 : 0)
                       : PQexecParams(conn, sql.c_str(), 0, nullptr, nullptr, nullptr, nullptr, blob_out != nullptr ? 1 : 0);
  std::string error;
  const auto status = PQresultStatus(res);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    error = PQresultErrorMessage(res);
  } else if (blob_out != nullptr || int_out != nullptr) {
    if (PQntuples(res) < 1) {
      error = "no row";
    } else if (blob_out != nullptr) {
      const auto* p = reinterpret_cast<const std::uint8_t*>(PQgetvalue(res, 0, 0));
      blob_out->assign(p, p + PQgetlength(res, 0, 0));
    } else {
      *int_out = std::strtoll(PQgetvalue(res, 0, 0), nullptr, 10);
    }
  }
  PQclear(res);
  PQfinish(conn);
  return error;
}

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
  if (is_postgres(db_path)) {
    PGconn* conn = PQconnectdb(db_path.c_str());
    // The tests tamper in SQLite's words: a RAISE(ABORT) trigger, DROP TRIGGER without its table.
    std::string text = schema_for_postgres(sql);
    std::smatch drop;
    while (std::regex_search(text, drop, std::regex(R"(DROP TRIGGER (\w+)(\s*;|\s*$))"))) {
      const std::string name = drop[1];
      PGresult* table = PQexec(conn, ("SELECT tgrelid::regclass FROM pg_trigger WHERE tgname = '" + name + "'").c_str());
      const std::string on = PQntuples(table) == 1 ? PQgetvalue(table, 0, 0) : "unknown_table";
      PQclear(table);
      text = drop.prefix().str() + "DROP TRIGGER " + name + " ON " + on + drop[2].str() + drop.suffix().str();
    }
    PGresult* res = PQexec(conn, text.c_str());
    const auto status = PQresultStatus(res);
    std::string error = status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK ? "" : PQresultErrorMessage(res);
    PQclear(res);
    PQfinish(conn);
    return error;
  }
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
  Bytes out;
  const auto err = is_postgres(db_path) ? pg_step_one(db_path, sql, {}, false, &out, nullptr)
                                        : step_one(Conn(db_path).db, sql, {}, false, &out, nullptr);
  if (!err.empty()) throw std::runtime_error(err);
  return out;
}

std::int64_t raw_int(const std::string& db_path, const std::string& sql) {
  std::int64_t out = 0;
  const auto err = is_postgres(db_path) ? pg_step_one(db_path, sql, {}, false, nullptr, &out)
                                        : step_one(Conn(db_path).db, sql, {}, false, nullptr, &out);
  if (!err.empty()) throw std::runtime_error(err);
  return out;
}

std::string raw_set_blob(const std::string& db_path, const std::string& sql, ByteView blob) {
  if (is_postgres(db_path)) return pg_step_one(db_path, sql, blob, true, nullptr, nullptr);
  Conn c(db_path);
  return step_one(c.db, sql, blob, true, nullptr, nullptr);
}

Bytes database_contents(const std::string& db_path) {
  Bytes out;
  if (!is_postgres(db_path)) {
    out = read_file(db_path);
    const Bytes wal = read_file(db_path + "-wal");
    out.insert(out.end(), wal.begin(), wal.end());
  } else {
    PGconn* conn = PQconnectdb(db_path.c_str());
    PGresult* columns = PQexec(conn,
                               "SELECT table_name, column_name, data_type FROM information_schema.columns "
                               "WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position");
    for (int i = 0; i < PQntuples(columns); ++i) {
      const std::string table = PQgetvalue(columns, i, 0), column = PQgetvalue(columns, i, 1);
      const bool blob = std::string(PQgetvalue(columns, i, 2)) == "bytea";
      const std::string sql = "SELECT \"" + column + "\"" + (blob ? "" : "::text") + " FROM \"" + table + "\"";
      PGresult* rows = PQexecParams(conn, sql.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 1);
      for (int r = 0; r < PQntuples(rows); ++r) {
        const auto* p = reinterpret_cast<const std::uint8_t*>(PQgetvalue(rows, r, 0));
        out.insert(out.end(), p, p + PQgetlength(rows, r, 0));
        out.push_back(0);
      }
      PQclear(rows);
    }
    PQclear(columns);
    PQfinish(conn);
  }
  if (out.empty()) throw std::runtime_error("database_contents: nothing read from " + db_path);
  return out;
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
