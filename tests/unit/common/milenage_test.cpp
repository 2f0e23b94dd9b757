#include <gtest/gtest.h>

#include "cardperso/common/milenage.hpp"

using namespace cardperso;

// 3GPP TS 35.207 §4 / TS 35.208 §4 test set 1.
namespace {
const Bytes K = hex("465b5ce8b199b49faa5f0a2ee238a6bc");
const Bytes RAND = hex("23553cbe9637a89d218ae64dae47bf35");
const Bytes SQN = hex("ff9bb4d0b607");
const Bytes AMF = hex("b9b9");
const Bytes OP = hex("cdc202d5123e20f62b6d676ac72cb318");
const Bytes OPC = hex("cd63cb71954a9f4e48a5994e37a02baf");
}  // namespace

TEST(Milenage, OpcFromOp) { EXPECT_EQ(to_hex(milenage::opc_from_op(K, OP).view()), to_hex(OPC)); }

TEST(Milenage, F1TestSet1) {
  auto r = milenage::f1(K, OPC, RAND, SQN, AMF);
  EXPECT_EQ(to_hex(r.mac_a), "4a9ffac354dfafb3");
  EXPECT_EQ(to_hex(r.mac_s), "01cfaf9ec4e871e9");
}

TEST(Milenage, F2345TestSet1) {
  auto r = milenage::f2345(K, OPC, RAND);
  EXPECT_EQ(to_hex(r.res), "a54211d5e3ba50bf");
  EXPECT_EQ(to_hex(r.ck), "b40ba9a3c58b2a05bbf0d987b21bf8cb");
  EXPECT_EQ(to_hex(r.ik), "f769bcd751044604127672711c6d3441");
  EXPECT_EQ(to_hex(r.ak), "aa689c648370");
  EXPECT_EQ(to_hex(r.ak_star), "451e8beca43b");
}

TEST(Milenage, GsmConversionTestSet1) {
  auto t = milenage::gsm(K, OPC, RAND);
  EXPECT_EQ(to_hex(t.sres), "46f8416a");
  EXPECT_EQ(to_hex(t.kc), "eae4be823af9a08b");
}

TEST(Milenage, RejectsWrongSizes) {
  EXPECT_THROW(milenage::gsm(hex("00"), OPC, RAND), std::invalid_argument);
  EXPECT_THROW(milenage::f1(K, OPC, RAND, hex("00"), AMF), std::invalid_argument);
}
