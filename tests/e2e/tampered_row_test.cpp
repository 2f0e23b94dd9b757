// A sealed column of the ADS database edited in the file (one byte of a retailer's sealed keys, with
// the sqlite3 C API, as someone with write access to the file but not the master key would): the
// ADS refuses that retailer's session with a log line naming the row and an audit entry, counts no
// authentication failure against the card (it is not the card's fault), and goes on serving the
// other retailers. ads-server starts anyway: check_master_key (ads_main.cpp) proves the key matches
// the database; a row that no longer opens is the row's problem, found when it is used.
#include <sqlite3.h>

#include <regex>
#include <thread>

#include "secure_session_fixture.hpp"

using namespace cardperso;
using namespace cardperso::e2e;
using namespace std::chrono_literals;

namespace {

constexpr const char* kOtherSerial = "8944100000000000025";

class TamperedRow : public SecureSessionFixture {
 protected:
  // XORs 0x01 into byte `at` of a BLOB column of one row, straight in the database file.
  void flip_byte(const std::string& table, const std::string& column, const std::string& key_column,
                 const std::string& key, std::size_t at) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open_v2(db_.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    const std::string select = "SELECT " + column + " FROM " + table + " WHERE " + key_column + " = ?1";
    sqlite3_stmt* stmt = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db, select.c_str(), -1, &stmt, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    sqlite3_bind_text(stmt, 1, key.c_str(), -1, SQLITE_TRANSIENT);
    ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW) << "no row " << key << " in " << table;
    const auto* data = static_cast<const std::uint8_t*>(sqlite3_column_blob(stmt, 0));
    Bytes blob(data, data + sqlite3_column_bytes(stmt, 0));
    sqlite3_finalize(stmt);
    ASSERT_GT(blob.size(), at);
    blob[at] ^= 0x01;
    const std::string update = "UPDATE " + table + " SET " + column + " = ?1 WHERE " + key_column + " = ?2";
    ASSERT_EQ(sqlite3_prepare_v2(db, update.c_str(), -1, &stmt, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    sqlite3_bind_blob(stmt, 1, blob.data(), static_cast<int>(blob.size()), SQLITE_TRANSIENT);
    sqlite3_bind_text(stmt, 2, key.c_str(), -1, SQLITE_TRANSIENT);
    EXPECT_EQ(sqlite3_step(stmt), SQLITE_DONE) << sqlite3_errmsg(db);
    EXPECT_EQ(sqlite3_changes(db), 1);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    sealed_rows_tampered_ = true;
  }

  // audit_log rows with this event and subject.
  int audit_count(const std::string& event, const std::string& subject) {
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(db_.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) return -1;
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt* stmt = nullptr;
    int n = -1;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM audit_log WHERE event = ?1 AND subject = ?2", -1, &stmt,
                           nullptr) == SQLITE_OK) {
      sqlite3_bind_text(stmt, 1, event.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(stmt, 2, subject.c_str(), -1, SQLITE_TRANSIENT);
      if (sqlite3_step(stmt) == SQLITE_ROW) n = sqlite3_column_int(stmt, 0);
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return n;
  }
};

}  // namespace

TEST_F(TamperedRow, EditedRetailerKeysAreRefusedNamedAndAuditedWhileOthersAreServed) {
  const std::string image = enrol(kSerial);
  const std::string other_image = enrol(kOtherSerial);
  // Sealed blob: version (1) || nonce (12) || ciphertext || tag: byte 20 is inside the ciphertext.
  flip_byte("retailers", "sealed_keys", "serial", kSerial, 20);
  ASSERT_FALSE(HasFailure());

  insert_card(image);
  const int ads = start_ads();
  const int dtd = start_dtd(ads);
  ASSERT_FALSE(HasFailure());
  SteOptions ste;
  EXPECT_NE(run_ste(dtd, ste), 0) << display_text();
  EXPECT_FALSE(displayed("Session keys established")) << display_text();
  EXPECT_TRUE(wait_for_log(ads_log_,
                           std::regex(std::string("retailer lookup failed: stored keys for retailer ") + kSerial +
                                      " fail authentication: the database was altered"),
                           10s))
      << "the ADS log does not name the altered row:\n"
      << ads_log();
  EXPECT_EQ(audit_count("retailer_row_unreadable", kSerial), 1) << "no audit entry for the altered row";
  EXPECT_EQ(failed_auth_count(kSerial), 0) << "an altered row is not the card's failed authentication";
  EXPECT_TRUE(wait_no_open_session(10s));
  auto rows = sessions();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].retailer_serial, kSerial);
  EXPECT_NE(rows[0].outcome.value_or("(open)"), "completed");

  // The same server, the other shop: served as usual.
  sims_.back()->terminate();
  std::this_thread::sleep_for(500ms);  // pcscd notices the card gone
  insert_card(other_image);
  ASSERT_FALSE(HasFailure());
  ste.echo_test = random_marker("STEMARKER-");  // an echo, then the STE ends the session
  EXPECT_EQ(run_ste(dtd, ste), 0) << display_text();
  EXPECT_TRUE(displayed("Session keys established")) << display_text();
  EXPECT_TRUE(wait_no_open_session(10s));
  rows = sessions();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].retailer_serial, kOtherSerial);
  EXPECT_EQ(rows[1].outcome.value_or("(open)"), "completed") << rows[1].reason;
  EXPECT_EQ(audit_count("retailer_row_unreadable", kOtherSerial), 0);
}
