#include "cardperso/ads/store/sqlite_db.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>

#include "test_support.hpp"

namespace cardperso::ads {
namespace {

using test::must;

class SqliteDbTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_path = dir.file("t.db");
    db.emplace(must(Database::open(db_path, OpenMode::CreateNew)));
    must(db->exec("CREATE TABLE t (name TEXT NOT NULL UNIQUE)", "create test table"));
  }
  std::int64_t count() {
    auto s = must(db->prepare("SELECT count(*) FROM t", "count"));
    EXPECT_TRUE(must(s.step()));
    return s.column_int(0);
  }
  Result<void> insert(std::string_view name) {
    auto s = db->prepare("INSERT INTO t (name) VALUES (?1)", "insert test row");
    if (!s) return s.error();
    s->bind(1, name);
    return s->run();
  }
  test::TempDir dir;
  std::string db_path;
  std::optional<Database> db;
};

TEST_F(SqliteDbTest, NewFileIsOwnerOnlyAndRefusesToOverwrite) {
  EXPECT_EQ(test::file_mode(db_path), 0600u);
  auto again = Database::open(db_path, OpenMode::CreateNew);
  ASSERT_FALSE(again);
  EXPECT_NE(again.error().message.find("already exists"), std::string::npos) << again.error().message;
}

// `sudo adsctl init` in a service's state directory: the database, and the -wal SQLite makes beside it,
// belong to the directory's owner (the service's user), or the service could not open them.
TEST_F(SqliteDbTest, ADatabaseMadeByRootInAServicesDirectoryBelongsToTheService) {
  const std::string service_dir = dir.file("state");
  ASSERT_EQ(::mkdir(service_dir.c_str(), 0700), 0);
  const bool root = ::geteuid() == 0;
  const uid_t uid = root ? 4242 : ::geteuid();
  const gid_t gid = root ? 4243 : ::getegid();
  if (root) {
    ASSERT_EQ(::chown(service_dir.c_str(), uid, gid), 0);
  }
  const std::string path = service_dir + "/ads.db";
  {
    auto made = must(Database::open(path, OpenMode::CreateNew));
    must(made.exec("CREATE TABLE t (x INTEGER)", "create a table"));
    for (const std::string& file : {path, path + "-wal"}) {
      struct stat st {};
      ASSERT_EQ(::stat(file.c_str(), &st), 0) << file;
      EXPECT_EQ(st.st_uid, uid) << file;
      EXPECT_EQ(st.st_gid, gid) << file;
      EXPECT_EQ(st.st_mode & 0777, 0600u) << file;
    }
  }
  // Root's own directory: root's file.
  const std::string own = dir.file("own.db");
  must(Database::open(own, OpenMode::CreateNew));
  struct stat st {};
  ASSERT_EQ(::stat(own.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, ::geteuid());
}

TEST_F(SqliteDbTest, MissingFileIsReportedWithWhatToDo) {
  auto missing = Database::open(dir.file("nope.db"), OpenMode::MustExist);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("adsctl init"), std::string::npos) << missing.error().message;
}

TEST_F(SqliteDbTest, DurabilityPragmasAreSet) {
  auto mode = must(db->prepare("PRAGMA journal_mode", "read journal mode"));
  ASSERT_TRUE(must(mode.step()));
  EXPECT_EQ(mode.column_text(0), "wal");
  auto sync = must(db->prepare("PRAGMA synchronous", "read synchronous"));
  ASSERT_TRUE(must(sync.step()));
  EXPECT_EQ(sync.column_int(0), 2);  // FULL
  auto fk = must(db->prepare("PRAGMA foreign_keys", "read foreign keys"));
  ASSERT_TRUE(must(fk.step()));
  EXPECT_EQ(fk.column_int(0), 1);
}

TEST_F(SqliteDbTest, NotADatabaseIsRefusedClearly) {
  test::write_file(dir.file("junk.db"), std::string(4096, 'x'), 0600);
  auto junk = Database::open(dir.file("junk.db"), OpenMode::MustExist);
  ASSERT_FALSE(junk);
  EXPECT_NE(junk.error().message.find("not an ads-server database"), std::string::npos) << junk.error().message;
}

TEST_F(SqliteDbTest, ParametersAreBoundNotSpliced) {
  const std::string hostile = "x'); DROP TABLE t; --";
  must(insert(hostile));
  auto s = must(db->prepare("SELECT name FROM t", "read back"));
  ASSERT_TRUE(must(s.step()));
  EXPECT_EQ(s.column_text(0), hostile);
}

TEST_F(SqliteDbTest, ErrorsNameTheOperation) {
  auto bad = db->prepare("SELEKT 1", "frobnicate the widgets");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("frobnicate the widgets"), std::string::npos) << bad.error().message;
  must(insert("a"));
  auto dup = insert("a");
  ASSERT_FALSE(dup);
  EXPECT_NE(dup.error().message.find("insert test row"), std::string::npos) << dup.error().message;
  EXPECT_NE(dup.error().message.find("UNIQUE"), std::string::npos) << dup.error().message;
}

TEST_F(SqliteDbTest, TransactionCommitsOnSuccess) {
  auto r = db->with_transaction([&]() -> Result<int> {
    if (auto i = insert("a"); !i) return i.error();
    if (auto i = insert("b"); !i) return i.error();
    return 7;
  });
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, 7);
  EXPECT_EQ(count(), 2);
  EXPECT_EQ(test::raw_int(db_path, "SELECT count(*) FROM t"), 2);  // visible to another connection: committed
  EXPECT_FALSE(db->in_transaction());
}

TEST_F(SqliteDbTest, TransactionRollsBackOnErrorResult) {
  auto r = db->with_transaction([&]() -> Result<void> {
    if (auto i = insert("a"); !i) return i;
    return insert("a");  // fails: duplicate; the first insert must go too
  });
  ASSERT_FALSE(r);
  EXPECT_EQ(count(), 0);
  EXPECT_FALSE(db->in_transaction());
}

TEST_F(SqliteDbTest, TransactionRollsBackOnException) {
  EXPECT_THROW(db->with_transaction([&]() -> Result<void> {
    must(insert("a"));
    throw std::runtime_error("boom");
  }),
               std::runtime_error);
  EXPECT_EQ(count(), 0);
  EXPECT_FALSE(db->in_transaction());
}

TEST_F(SqliteDbTest, NestedTransactionIsAProgrammerError) {
  EXPECT_THROW(db->with_transaction([&]() -> Result<void> { return db->with_transaction([] { return Result<void>{}; }); }),
               std::logic_error);
  EXPECT_FALSE(db->in_transaction());
}

// ---- statement cache ----

TEST_F(SqliteDbTest, PreparedStatementIsReusedAndResetBetweenUses) {
  const auto before = db->cached_statements();
  EXPECT_EQ(count(), 0);
  const auto after_first = db->cached_statements();
  EXPECT_EQ(after_first, before + 1);
  must(insert("a"));
  must(insert("b"));
  EXPECT_EQ(count(), 2);  // the reused statement was reset, so it counts again
  EXPECT_EQ(db->cached_statements(), after_first + 1);  // one more text (the insert), reused for "b"
}

TEST_F(SqliteDbTest, ReusedStatementHasNoBindingsLeftFromItsLastUse) {
  must(insert("a"));
  auto again = must(db->prepare("INSERT INTO t (name) VALUES (?1)", "insert without a name"));
  auto ran = again.run();  // ?1 is NULL again, which the NOT NULL column refuses
  ASSERT_FALSE(ran);
  EXPECT_NE(ran.error().message.find("insert without a name"), std::string::npos) << ran.error().message;
  EXPECT_NE(ran.error().message.find("NOT NULL"), std::string::npos) << ran.error().message;
}

TEST_F(SqliteDbTest, SameTextInUseGetsAFreshStatement) {
  must(insert("a"));
  must(insert("b"));
  const std::string sql = "SELECT name FROM t ORDER BY name";
  auto outer = must(db->prepare(sql, "outer"));
  ASSERT_TRUE(must(outer.step()));
  EXPECT_EQ(outer.column_text(0), "a");
  const auto cached = db->cached_statements();
  {
    auto inner = must(db->prepare(sql, "inner"));  // the cached one is busy: an uncached one
    ASSERT_TRUE(must(inner.step()));
    EXPECT_EQ(inner.column_text(0), "a");
    ASSERT_TRUE(must(inner.step()));
    EXPECT_EQ(inner.column_text(0), "b");
  }
  EXPECT_EQ(db->cached_statements(), cached);
  ASSERT_TRUE(must(outer.step()));  // the outer statement was not disturbed
  EXPECT_EQ(outer.column_text(0), "b");
  EXPECT_FALSE(must(outer.step()));
}

TEST_F(SqliteDbTest, ErrorsStillNameTheOperationWithTheCache) {
  must(insert("a"));
  auto dup = insert("a");
  ASSERT_FALSE(dup);
  EXPECT_NE(dup.error().message.find("insert test row"), std::string::npos) << dup.error().message;
  EXPECT_NE(dup.error().message.find("UNIQUE"), std::string::npos) << dup.error().message;
  must(insert("b"));  // the statement that failed is usable again
  EXPECT_EQ(count(), 2);
  const auto cached = db->cached_statements();
  auto bad = db->prepare("SELEKT 1", "read nonsense");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("read nonsense (prepare)"), std::string::npos) << bad.error().message;
  EXPECT_EQ(db->cached_statements(), cached);  // a failed prepare is not cached
}

TEST_F(SqliteDbTest, StatementMayOutliveItsDatabase) {
  must(insert("a"));
  auto stmt = must(db->prepare("SELECT name FROM t", "read after close"));
  ASSERT_TRUE(must(stmt.step()));
  db.reset();  // the connection stays until the statement is finalized
  EXPECT_EQ(stmt.column_text(0), "a");
}

}  // namespace
}  // namespace cardperso::ads
