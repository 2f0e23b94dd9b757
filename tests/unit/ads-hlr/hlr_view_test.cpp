#include "cardperso/ads/hlr/hlr_view.hpp"

#include <gtest/gtest.h>

namespace cardperso::ads::hlr {
namespace {

// An osmo-hlr 1.5.0 info-all reply's value, as its print_subscr_info* functions lay it out.
const std::string kInfoAll =
    "\nid\t3\nimsi\t001010000000001\nmsisdn\t41790000001\nnam_cs\t1\nnam_ps\t1\nms_purged_cs\t0\nms_purged_ps\t0"
    "\nperiodic_lu_timer\t0\nperiodic_rau_tau_timer\t0\nlmsi\t00000000"
    "\naud3g.algo\tMILENAGE\naud3g.k\t465b5ce8b199b49faa5f0a2ee238a6bc"
    "\naud3g.opc\tcd63cb71954a9f4e48a5994e37a02baf\naud3g.ind_bitlen\t5\naud3g.sqn\t0";

SubscriberData record() {
  return {"001010000000001", "41790000001", SecretBytes(hex("465b5ce8b199b49faa5f0a2ee238a6bc")),
          SecretBytes(hex("cd63cb71954a9f4e48a5994e37a02baf"))};
}

TEST(HlrView, InfoAllMatchingTheRecordHasNoDifference) {
  auto view = parse_info_all(kInfoAll);
  ASSERT_TRUE(view) << view.error().message;
  EXPECT_EQ(view->imsi, "001010000000001");
  EXPECT_EQ(view->msisdn, "41790000001");
  EXPECT_TRUE(view->cs_enabled);
  EXPECT_EQ(view->aud3g_algo, "MILENAGE");
  EXPECT_TRUE(compare_with_record(*view, record()).empty());
}

TEST(HlrView, DifferencesNameTheFieldButNeverAKey) {
  std::string text = kInfoAll;
  text.replace(text.find("41790000001"), 11, "41790000099");
  text.replace(text.find("cd63cb71"), 8, "00000000");
  text.replace(text.find("nam_ps\t1"), 8, "nam_ps\t0");
  auto view = parse_info_all(text);
  ASSERT_TRUE(view);
  const auto d = compare_with_record(*view, record());
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d[0], "MSISDN: HLR 41790000099, record 41790000001");
  EXPECT_EQ(d[1], "PS access disabled in the HLR");
  EXPECT_EQ(d[2], "OPc differs from the record");
  for (const auto& line : d) {
    EXPECT_EQ(line.find("cd63"), std::string::npos);
    EXPECT_EQ(line.find("465b"), std::string::npos);
  }
}

TEST(HlrView, NoAuthDataAndBadKeysAreReported) {
  auto none = parse_info_all("\nid\t3\nimsi\t001010000000001\nnam_cs\t1\nnam_ps\t1");
  ASSERT_TRUE(none);
  const auto d = compare_with_record(*none, record());
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0], "MSISDN: HLR none, record 41790000001");
  EXPECT_EQ(d[1], "3G auth: HLR none, record MILENAGE");
  EXPECT_FALSE(parse_info_all("\nimsi\t1\naud3g.k\t1234"));
  EXPECT_FALSE(parse_info_all("\nid\t3"));
}

}  // namespace
}  // namespace cardperso::ads::hlr
