#include "cardperso/ads/perso/modification_request.hpp"

#include <gtest/gtest.h>

#include "cardperso/ads/perso/receipt.hpp"
#include "cardperso/ads/perso/perso_services_sqlite.hpp"

namespace cardperso::ads {
namespace {

perso::CardProfile profile() {
  auto p = perso::load_card_profile(std::string(CARDPERSO_PROFILES_DIR) + "/gsm-sim-default.json");
  if (!p) throw std::runtime_error(p.error().message);
  return *p;
}

std::string why(std::string_view json) {
  auto r = parse_modification_request(json, profile());
  return r ? std::string("accepted") : r.error().message;
}

TEST(ModificationRequest, ParsesSpnAndPlmnList) {
  auto r = parse_modification_request(
      R"({"iccid":"8988211000000000011","changes":{"spn":"NEW-NET","plmnsel":["001/01","29510","302-361"]}})", profile());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->iccid, "8988211000000000011");
  EXPECT_EQ(r->spn.value_or(""), "NEW-NET");
  ASSERT_TRUE(r->plmns);
  EXPECT_EQ(r->plmns->size(), 3u);
  EXPECT_EQ((*r->plmns)[2], (perso::Plmn{"302", "361"}));
}

TEST(ModificationRequest, ANewNumberIsAskedForNotNamed) {
  auto r = parse_modification_request(R"({"iccid":"8988211000000000011","changes":{"msisdn":"new"}})", profile());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->new_msisdn);
  EXPECT_FALSE(r->spn);
}

TEST(ModificationRequest, RefusesWithAReason) {
  EXPECT_EQ(why("nope"), "modification request: not valid JSON");
  EXPECT_EQ(why(R"({"changes":{"spn":"A"}})"), "modification request: iccid missing");
  EXPECT_EQ(why(R"({"iccid":"12345","changes":{"spn":"A"}})"), "modification request: iccid must be 18 to 20 digits");
  EXPECT_EQ(why(R"({"iccid":"8988211000000000011","changes":{}})"),
            "modification request: no change given (spn, plmnsel or msisdn)");
  EXPECT_EQ(why(R"({"iccid":"8988211000000000011","changes":{"imsi":"001010000000001"}})"),
            "modification request: changes.imsi: unknown change (spn, plmnsel and msisdn can be changed)");
  EXPECT_EQ(why(R"({"iccid":"8988211000000000011","pin":"1234","changes":{"spn":"A"}})"),
            "modification request: pin: unknown field (iccid and changes are expected)");
  EXPECT_NE(why(R"({"iccid":"8988211000000000011","changes":{"spn":"ABCDEFGHIJKLMNOPQ"}})").find("changes.spn"),
            std::string::npos);  // 17 characters: EF_SPN holds 16
  EXPECT_NE(why(R"({"iccid":"8988211000000000011","changes":{"plmnsel":["00101x"]}})").find("changes.plmnsel"),
            std::string::npos);
  // EF_PLMNsel of the default profile holds 8 entries.
  EXPECT_NE(why(R"({"iccid":"8988211000000000011","changes":{"plmnsel":["00101","00101","00101","00101","00101","00101","00101","00101","00101"]}})")
                .find("changes.plmnsel"),
            std::string::npos);
  // A shop cannot name the number: it could move someone else's to a card it holds.
  EXPECT_EQ(why(R"({"iccid":"8988211000000000011","changes":{"msisdn":"41790000077"}})"),
            "modification request: changes.msisdn: only \"new\" can be asked for (a fresh number from the pool)");
  EXPECT_EQ(why(R"({"iccid":"8988211000000000011","changes":{"plmnsel":[]}})"),
            "modification request: changes.plmnsel must be a non-empty list of PLMNs");
}

TEST(UtcTime, DatesAndTimestampsAreUtc) {
  const Seconds t = from_unix(1700000000);
  EXPECT_EQ(utc_timestamp(t), "2023-11-14T22:13:20Z");
  EXPECT_EQ(utc_date(t), (policy::Date{2023, 11, 14}));
  EXPECT_EQ(utc_timestamp(from_unix(951782400)), "2000-02-29T00:00:00Z");
}

}  // namespace
}  // namespace cardperso::ads
