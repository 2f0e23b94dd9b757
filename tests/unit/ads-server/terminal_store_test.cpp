#include "cardperso/ads/store/terminal_store.hpp"

#include <gtest/gtest.h>

#include "cardperso/ads/store/retailer_store.hpp"
#include "database_fixture.hpp"

namespace cardperso::ads {
namespace {

using test::must;

const std::string kShopA1 = "8949000000000000001";
const std::string kShopA2 = "8949000000000000002";
const std::string kShopB = "8949000000000000003";

RetailerKeys sample_keys() {
  RetailerKeys k;
  for (SecretBytes* key : {&k.k_ra, &k.k_ia, &k.k_s, &k.k_d}) *key = SecretBytes(Bytes(16, 0x42));
  return k;
}

DevicePublicKey device(std::uint8_t fill) {
  DevicePublicKey k;
  k.fill(fill);
  return k;
}

class TerminalStoreTest : public test::DatabaseTest {
 protected:
  void SetUp() override {
    DatabaseTest::SetUp();
    audit.emplace(*db, key, clock());
    retailers.emplace(*db, key, *audit, "tester", LockoutPolicy{}, clock());
    terminals.emplace(*db, *audit, "tester", clock());
    for (const auto& serial : {kShopA1, kShopA2, kShopB}) must(retailers->enrol(serial, sample_keys(), hex("0102030405060708")));
  }
  std::vector<std::string> audit_events() {
    std::vector<std::string> out;
    for (const auto& e : must(audit->last(1000)))
      if (e.event.starts_with("terminal_")) out.push_back(e.event + " " + e.subject + " " + e.detail);
    return out;
  }

  std::optional<AuditLog> audit;
  std::optional<RetailerStore> retailers;
  std::optional<TerminalStore> terminals;
};

TEST_F(TerminalStoreTest, StandingFollowsEnrolmentAndRevocation) {
  EXPECT_EQ(must(terminals->standing(device(1), kShopA1)), TerminalStanding::Unknown);
  must(terminals->enrol(device(1), kShopA1, "counter 1"));
  must(terminals->enrol(device(1), kShopA2, ""));  // one terminal, two clerks' cards
  EXPECT_EQ(must(terminals->standing(device(1), kShopA1)), TerminalStanding::Enrolled);
  EXPECT_EQ(must(terminals->standing(device(1), kShopA2)), TerminalStanding::Enrolled);
  EXPECT_EQ(must(terminals->standing(device(1), kShopB)), TerminalStanding::OtherRetailer);
  EXPECT_EQ(must(terminals->standing(device(2), kShopA1)), TerminalStanding::Unknown);

  EXPECT_EQ(must(terminals->revoke(device(1), std::string_view(kShopA2))), 1);
  EXPECT_EQ(must(terminals->standing(device(1), kShopA2)), TerminalStanding::Revoked);
  EXPECT_EQ(must(terminals->standing(device(1), kShopA1)), TerminalStanding::Enrolled);
  EXPECT_EQ(must(terminals->revoke(device(1), std::nullopt)), 1);  // the remaining one
  EXPECT_EQ(must(terminals->standing(device(1), kShopA1)), TerminalStanding::Revoked);
  // Revoked everywhere: for another card it is no longer "someone else's terminal" but unknown.
  EXPECT_EQ(must(terminals->standing(device(1), kShopB)), TerminalStanding::Unknown);

  const std::string key_hex = to_hex(device(1));
  EXPECT_EQ(audit_events(), (std::vector<std::string>{
                                "terminal_enrolled " + kShopA1 + " public_key=" + key_hex + " label=counter 1",
                                "terminal_enrolled " + kShopA2 + " public_key=" + key_hex,
                                "terminal_revoked " + kShopA2 + " public_key=" + key_hex,
                                "terminal_revoked " + kShopA1 + " public_key=" + key_hex}));
}

TEST_F(TerminalStoreTest, RefusalsSayWhyAndChangeNothing) {
  auto unknown = terminals->enrol(device(1), "8949000000000000099", "");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, Errc::NotFound);
  EXPECT_NE(unknown.error().message.find("enrol the retailer card first"), std::string::npos);
  EXPECT_EQ(terminals->enrol(device(1), "12ab", "").error().code, Errc::InvalidInput);
  EXPECT_EQ(terminals->enrol(device(1), kShopA1, std::string(65, 'x')).error().code, Errc::InvalidInput);
  EXPECT_EQ(terminals->enrol(device(1), kShopA1, "tab\there").error().code, Errc::InvalidInput);

  must(retailers->revoke(kShopB));
  auto revoked_retailer = terminals->enrol(device(1), kShopB, "");
  ASSERT_FALSE(revoked_retailer);
  EXPECT_NE(revoked_retailer.error().message.find("is revoked"), std::string::npos);

  must(terminals->enrol(device(1), kShopA1, ""));
  EXPECT_EQ(terminals->enrol(device(1), kShopA1, "").error().code, Errc::AlreadyExists);
  must(terminals->revoke(device(1), std::nullopt));
  auto again = terminals->enrol(device(1), kShopA1, "");
  ASSERT_FALSE(again);  // a revoked terminal is not brought back
  EXPECT_NE(again.error().message.find("stays revoked"), std::string::npos);
  EXPECT_EQ(terminals->revoke(device(1), std::nullopt).error().code, Errc::NotFound);
  EXPECT_EQ(terminals->revoke(device(7), std::nullopt).error().code, Errc::NotFound);
  EXPECT_EQ(audit_events().size(), 2u);  // the one enrolment and its revocation
}

TEST_F(TerminalStoreTest, ListsAllOrOneRetailersOldestFirst) {
  must(terminals->enrol(device(1), kShopA1, "front"));
  now += std::chrono::seconds(5);
  must(terminals->enrol(device(2), kShopB, "back"));
  must(terminals->revoke(device(2), std::nullopt));
  const auto all = must(terminals->list(std::nullopt));
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].public_key, device(1));
  EXPECT_EQ(all[0].retailer_serial, kShopA1);
  EXPECT_EQ(all[0].label, "front");
  EXPECT_EQ(all[0].state, TerminalState::Active);
  EXPECT_FALSE(all[0].revoked_at);
  EXPECT_EQ(all[1].state, TerminalState::Revoked);
  ASSERT_TRUE(all[1].revoked_at);
  EXPECT_GT(to_unix(all[1].enrolled_at), to_unix(all[0].enrolled_at));
  const auto b = must(terminals->list(std::string_view(kShopB)));
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].public_key, device(2));
}

}  // namespace
}  // namespace cardperso::ads
