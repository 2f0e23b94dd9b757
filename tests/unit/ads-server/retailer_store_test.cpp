#include "cardperso/ads/store/retailer_store.hpp"

#include <gtest/gtest.h>

#include "cardperso/ads/store/migrations.hpp"
#include "cardperso/common/crypto.hpp"
#include "database_fixture.hpp"

namespace cardperso::ads {
namespace {

using std::chrono::minutes;
using test::must;

const std::string kSerialA = "8949000000000000001";
const std::string kSerialB = "8949000000000000002";

RetailerKeys sample_keys(std::uint8_t fill) {
  RetailerKeys k;
  k.key_version = 3;
  k.k_ra = SecretBytes(Bytes(16, fill));
  k.k_ia = SecretBytes(Bytes(16, static_cast<std::uint8_t>(fill + 1)));
  k.k_s = SecretBytes(Bytes(16, static_cast<std::uint8_t>(fill + 2)));
  k.k_d = SecretBytes(Bytes(16, static_cast<std::uint8_t>(fill + 3)));
  return k;
}

class RetailerStoreTest : public test::DatabaseTest {
 protected:
  void SetUp() override {
    DatabaseTest::SetUp();
    audit.emplace(*db, key, clock());
    store.emplace(*db, key, *audit, "tester", LockoutPolicy{}, clock());
  }
  RetailerRecord found(const std::string& serial) {
    auto r = must(store->find(serial));
    if (!r) throw std::runtime_error("retailer not found: " + serial);
    return std::move(*r);
  }
  std::vector<std::string> audit_events() {
    std::vector<std::string> out;
    for (const auto& e : must(audit->last(1000))) out.push_back(e.event + " " + e.subject);
    return out;
  }

  std::optional<AuditLog> audit;
  std::optional<RetailerStore> store;
};

TEST_F(RetailerStoreTest, EnrolThenFindOpensTheKeys) {
  must(store->enrol(kSerialA, sample_keys(0x10), hex("0102030405060708")));
  const auto r = found(kSerialA);
  EXPECT_EQ(r.serial, kSerialA);
  EXPECT_EQ(r.status, RetailerStatus::Active);
  EXPECT_EQ(r.key_version, 3);
  EXPECT_EQ(r.failed_auth_count, 0);
  EXPECT_EQ(to_unix(r.created_at), 1700000000);
  EXPECT_EQ(r.keys.key_version, 3);
  EXPECT_EQ(to_hex(r.keys.k_ra.view()), to_hex(Bytes(16, 0x10)));
  EXPECT_EQ(to_hex(r.keys.k_ia.view()), to_hex(Bytes(16, 0x11)));
  EXPECT_EQ(to_hex(r.keys.k_s.view()), to_hex(Bytes(16, 0x12)));
  EXPECT_EQ(to_hex(r.keys.k_d.view()), to_hex(Bytes(16, 0x13)));
  EXPECT_EQ(to_hex(must(store->issuer_code(kSerialA)).view()), "0102030405060708");
  EXPECT_FALSE(must(store->find(kSerialB)).has_value());
  EXPECT_EQ(audit_events(), std::vector<std::string>{"retailer_enrolled " + kSerialA});
}

TEST_F(RetailerStoreTest, SecretsAreNotInTheDatabaseInClear) {
  must(store->enrol(kSerialA, sample_keys(0x5a), hex("a1a2a3a4a5a6a7a8")));
  const Bytes file = test::database_contents(db_path);
  for (std::uint8_t fill : {0x5a, 0x5b, 0x5c, 0x5d}) EXPECT_FALSE(test::contains(file, Bytes(16, fill)));
  EXPECT_FALSE(test::contains(file, hex("a1a2a3a4a5a6a7a8")));
}

TEST_F(RetailerStoreTest, RefusesDuplicatesAndBadInput) {
  must(store->enrol(kSerialA, sample_keys(1), hex("0102030405060708")));
  auto dup = store->enrol(kSerialA, sample_keys(2), hex("0102030405060708"));
  ASSERT_FALSE(dup);
  EXPECT_NE(dup.error().message.find("already enrolled"), std::string::npos) << dup.error().message;
  EXPECT_EQ(to_hex(found(kSerialA).keys.k_ra.view()), to_hex(Bytes(16, 1)));  // untouched

  EXPECT_FALSE(store->enrol("123456789", sample_keys(1), hex("0102030405060708")));  // 9 digits
  EXPECT_FALSE(store->enrol("123456789012345678901", sample_keys(1), hex("0102030405060708")));  // 21
  EXPECT_FALSE(store->enrol("12345678x0", sample_keys(1), hex("0102030405060708")));
  auto short_key = sample_keys(1);
  short_key.k_d = SecretBytes(Bytes(15, 1));
  EXPECT_FALSE(store->enrol(kSerialB, short_key, hex("0102030405060708")));
  EXPECT_FALSE(store->enrol(kSerialB, sample_keys(1), hex("01020304050607")));
  EXPECT_EQ(must(store->list()).size(), 1u);
}

TEST_F(RetailerStoreTest, ListRevokeUnlock) {
  must(store->enrol(kSerialA, sample_keys(1), hex("0102030405060708")));
  now += minutes(1);
  must(store->enrol(kSerialB, sample_keys(2), hex("0102030405060708")));
  auto all = must(store->list());
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].serial, kSerialA);
  EXPECT_EQ(all[1].serial, kSerialB);

  must(store->revoke(kSerialA));
  EXPECT_EQ(found(kSerialA).status, RetailerStatus::Revoked);
  EXPECT_EQ(found(kSerialB).status, RetailerStatus::Active);
  auto again = store->revoke(kSerialA);
  ASSERT_FALSE(again);
  EXPECT_NE(again.error().message.find("already revoked"), std::string::npos);
  auto unlock_revoked = store->unlock(kSerialA);
  ASSERT_FALSE(unlock_revoked);
  EXPECT_NE(unlock_revoked.error().message.find("revocation is final"), std::string::npos);
  EXPECT_EQ(found(kSerialA).status, RetailerStatus::Revoked);
  auto unknown = store->revoke("1111111111");
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("no retailer with serial 1111111111"), std::string::npos);
  EXPECT_EQ(audit_events(), (std::vector<std::string>{"retailer_enrolled " + kSerialA, "retailer_enrolled " + kSerialB,
                                                      "retailer_revoked " + kSerialA}));
}

TEST_F(RetailerStoreTest, LocksAfterFiveFailuresWithinTheWindow) {
  must(store->enrol(kSerialA, sample_keys(1), hex("0102030405060708")));
  const Seconds t0 = now;
  for (int i = 1; i <= 4; ++i) {
    auto out = must(store->record_auth_failure(kSerialA, t0 + minutes(10 * i)));
    EXPECT_EQ(out.failures, i);
    EXPECT_FALSE(out.locked_now);
    EXPECT_EQ(found(kSerialA).status, RetailerStatus::Active);
  }
  auto fifth = must(store->record_auth_failure(kSerialA, t0 + minutes(59)));  // 49 min after the first
  EXPECT_EQ(fifth.failures, 5);
  EXPECT_TRUE(fifth.locked_now);
  EXPECT_EQ(fifth.status, RetailerStatus::Locked);
  EXPECT_EQ(found(kSerialA).status, RetailerStatus::Locked);
  EXPECT_EQ(found(kSerialA).failed_auth_count, 5);
  ASSERT_TRUE(fifth.locked_until);
  EXPECT_EQ(*fifth.locked_until, t0 + minutes(59) + minutes(15));
  // A success does not lift a lock; its time or an administrator's unlock does.
  must(store->record_auth_success(kSerialA));
  EXPECT_EQ(found(kSerialA).status, RetailerStatus::Locked);
  must(store->unlock(kSerialA));
  EXPECT_EQ(found(kSerialA).status, RetailerStatus::Active);
  EXPECT_EQ(found(kSerialA).failed_auth_count, 0);
  EXPECT_FALSE(found(kSerialA).first_failure_at.has_value());
  const auto events = audit_events();
  EXPECT_NE(std::find(events.begin(), events.end(), "retailer_locked " + kSerialA), events.end());
  EXPECT_EQ(events.back(), "retailer_unlocked " + kSerialA);
}

TEST_F(RetailerStoreTest, FailuresSpreadBeyondTheWindowDoNotLock) {
  must(store->enrol(kSerialA, sample_keys(1), hex("0102030405060708")));
  const Seconds t0 = now;
  for (int i = 0; i < 4; ++i) must(store->record_auth_failure(kSerialA, t0 + minutes(15 * i)));  // 0,15,30,45 min
  auto out = must(store->record_auth_failure(kSerialA, t0 + minutes(60)));  // the window closed at 60 min
  EXPECT_EQ(out.failures, 1);
  EXPECT_FALSE(out.locked_now);
  EXPECT_EQ(found(kSerialA).status, RetailerStatus::Active);
  EXPECT_EQ(to_unix(*found(kSerialA).first_failure_at), to_unix(t0 + minutes(60)));
}

TEST_F(RetailerStoreTest, SuccessResetsTheCount) {
  must(store->enrol(kSerialA, sample_keys(1), hex("0102030405060708")));
  for (int i = 0; i < 4; ++i) must(store->record_auth_failure(kSerialA, now + minutes(i)));
  must(store->record_auth_success(kSerialA));
  EXPECT_EQ(found(kSerialA).failed_auth_count, 0);
  for (int i = 0; i < 4; ++i) EXPECT_FALSE(must(store->record_auth_failure(kSerialA, now + minutes(5 + i))).locked_now);
  EXPECT_EQ(found(kSerialA).status, RetailerStatus::Active);
}

TEST_F(RetailerStoreTest, LockoutPolicyIsConfigurable) {
  RetailerStore strict(*db, key, *audit, "tester", LockoutPolicy{3, minutes(10)}, [this] { return now; });
  must(strict.enrol(kSerialA, sample_keys(1), hex("0102030405060708")));
  EXPECT_FALSE(must(strict.record_auth_failure(kSerialA, now)).locked_now);
  EXPECT_FALSE(must(strict.record_auth_failure(kSerialA, now + minutes(1))).locked_now);
  EXPECT_TRUE(must(strict.record_auth_failure(kSerialA, now + minutes(9))).locked_now);
  EXPECT_FALSE(store->record_auth_failure("1111111111", now));  // unknown serial
}

const std::string kTamperMessage =
    " fail authentication: the database was altered or the master key is wrong; restore from backup";

TEST_F(RetailerStoreTest, TamperedKeyBlobIsRefused) {
  must(store->enrol(kSerialA, sample_keys(1), hex("0102030405060708")));
  Bytes blob = test::raw_blob(db_path, "SELECT sealed_keys FROM retailers WHERE serial = '" + kSerialA + "'");
  blob[20] ^= 0x04;
  ASSERT_EQ(test::raw_set_blob(db_path, "UPDATE retailers SET sealed_keys = ?1 WHERE serial = '" + kSerialA + "'", blob), "");
  auto r = store->find(kSerialA);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "stored keys for retailer " + kSerialA + kTamperMessage);
}

TEST_F(RetailerStoreTest, KeyBlobMovedToAnotherRetailerIsRefused) {
  must(store->enrol(kSerialA, sample_keys(1), hex("0102030405060708")));
  must(store->enrol(kSerialB, sample_keys(9), hex("0102030405060708")));
  // An insider gives B the keys of A (e.g. to impersonate A's card with B's serial).
  ASSERT_EQ(test::raw_exec(db_path, "UPDATE retailers SET sealed_keys = (SELECT sealed_keys FROM retailers WHERE serial = '" +
                                        kSerialA + "'), sealed_issuer_code = (SELECT sealed_issuer_code FROM retailers "
                                        "WHERE serial = '" + kSerialA + "') WHERE serial = '" + kSerialB + "'"),
            "");
  auto r = store->find(kSerialB);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "stored keys for retailer " + kSerialB + kTamperMessage);
  EXPECT_FALSE(store->issuer_code(kSerialB));
  EXPECT_TRUE(store->find(kSerialA));  // A itself is fine
}

TEST_F(RetailerStoreTest, ChangedKeyVersionColumnIsRefused) {
  must(store->enrol(kSerialA, sample_keys(1), hex("0102030405060708")));
  ASSERT_EQ(test::raw_exec(db_path, "UPDATE retailers SET key_version = 4"), "");
  EXPECT_FALSE(store->find(kSerialA));
}

TEST_F(RetailerStoreTest, WrongMasterKeyIsRefused) {
  must(store->enrol(kSerialA, sample_keys(1), hex("0102030405060708")));
  const auto other = MasterKey::from_bytes(hex("ffeeddccbbaa99887766554433221100"));
  AuditLog other_audit(*db, other);
  RetailerStore wrong(*db, other, other_audit, "tester");
  auto r = wrong.find(kSerialA);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "stored keys for retailer " + kSerialA + kTamperMessage);
}

TEST_F(RetailerStoreTest, AFailedAuditAppendRollsTheChangeBack) {
  // Make every audit insert fail; the change it records must not stay.
  ASSERT_EQ(test::raw_exec(db_path, "CREATE TRIGGER audit_block BEFORE INSERT ON audit_log "
                                    "BEGIN SELECT RAISE(ABORT, 'audit blocked'); END"),
            "");
  auto r = store->enrol(kSerialA, sample_keys(1), hex("0102030405060708"));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("append audit entry"), std::string::npos) << r.error().message;
  EXPECT_FALSE(must(store->find(kSerialA)).has_value());
  EXPECT_EQ(test::raw_int(db_path, "SELECT count(*) FROM retailers"), 0);

  ASSERT_EQ(test::raw_exec(db_path, "DROP TRIGGER audit_block"), "");
  must(store->enrol(kSerialA, sample_keys(1), hex("0102030405060708")));
  ASSERT_EQ(test::raw_exec(db_path, "CREATE TRIGGER audit_block BEFORE INSERT ON audit_log "
                                    "BEGIN SELECT RAISE(ABORT, 'audit blocked'); END"),
            "");
  EXPECT_FALSE(store->revoke(kSerialA));
  EXPECT_FALSE(store->record_auth_failure(kSerialA, now));
  EXPECT_EQ(found(kSerialA).status, RetailerStatus::Active);
  EXPECT_EQ(found(kSerialA).failed_auth_count, 0);
}

TEST_F(RetailerStoreTest, AuditChainCoversRetailerChanges) {
  must(store->enrol(kSerialA, sample_keys(1), hex("0102030405060708")));
  must(store->record_auth_failure(kSerialA, now));
  must(store->record_auth_success(kSerialA));
  must(store->revoke(kSerialA));
  auto report = must(audit->verify());
  EXPECT_TRUE(report.intact()) << report.problem;
  EXPECT_EQ(report.entries_checked, 4);
}

}  // namespace
}  // namespace cardperso::ads

namespace cardperso::ads {
namespace {

class RetailerLockTest : public test::DatabaseTest {
 protected:
  void SetUp() override {
    DatabaseTest::SetUp();
    audit.emplace(*db, key, clock());
    LockoutPolicy policy;
    policy.max_failures = 2;
    policy.backoff = minutes(15);
    policy.max_backoff = minutes(50);
    store.emplace(*db, key, *audit, "tester", policy, clock());
    must(store->enrol(kSerialA, sample_keys(1), hex("0102030405060708")));
  }
  AuthFailureOutcome lock_at(Seconds t) {
    (void)must(store->record_auth_failure(kSerialA, t));
    return must(store->record_auth_failure(kSerialA, t));
  }
  std::optional<AuditLog> audit;
  std::optional<RetailerStore> store;
};

// A lock ends by itself; each lock in a row lasts twice the one before, up to the cap; a success
// ends the run.
TEST_F(RetailerLockTest, LocksExpireAndDoubleUpToTheCap) {
  Seconds t = now;
  for (auto expected : {minutes(15), minutes(30), minutes(50), minutes(50)}) {
    const auto out = lock_at(t);
    ASSERT_TRUE(out.locked_now);
    ASSERT_TRUE(out.locked_until);
    EXPECT_EQ(*out.locked_until - t, expected);
    EXPECT_FALSE(must(store->expire_lock(kSerialA, *out.locked_until - std::chrono::seconds(1))));
    EXPECT_EQ(must(store->find(kSerialA))->status, RetailerStatus::Locked);
    EXPECT_TRUE(must(store->expire_lock(kSerialA, *out.locked_until)));
    const auto r = *must(store->find(kSerialA));
    EXPECT_EQ(r.status, RetailerStatus::Active);
    EXPECT_EQ(r.failed_auth_count, 0);
    EXPECT_FALSE(r.locked_until);
    t = *out.locked_until + minutes(1);
  }
  EXPECT_EQ(must(store->find(kSerialA))->lockouts, 4);
  must(store->record_auth_success(kSerialA));
  EXPECT_EQ(must(store->find(kSerialA))->lockouts, 0);
  EXPECT_EQ(*lock_at(t).locked_until - t, minutes(15));  // the run starts again

  std::size_t expired = 0, locked = 0;
  for (const auto& e : must(audit->last(1000))) {
    expired += e.event == "retailer_lock_expired" ? 1 : 0;
    locked += e.event == "retailer_locked" ? 1 : 0;
  }
  EXPECT_EQ(expired, 4u);
  EXPECT_EQ(locked, 5u);
}

TEST_F(RetailerLockTest, UnlockEndsTheLockAndTheRun) {
  lock_at(now);
  lock_at(now);  // a failure on a locked card adds to the count, not a second lock
  must(store->unlock(kSerialA));
  const auto r = *must(store->find(kSerialA));
  EXPECT_EQ(r.status, RetailerStatus::Active);
  EXPECT_EQ(r.lockouts, 0);
  EXPECT_FALSE(r.locked_until);
  EXPECT_FALSE(must(store->expire_lock(kSerialA, now + std::chrono::hours(48))));  // nothing to expire
}

}  // namespace
}  // namespace cardperso::ads
