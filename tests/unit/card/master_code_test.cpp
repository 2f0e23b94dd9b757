// The master-code KDF (docs/cards.md §2.1) against its known answers.
#include <gtest/gtest.h>

#include "cardperso/card/master_code.hpp"

using namespace cardperso;
using namespace cardperso::card;

TEST(MasterCode, KnownAnswer) {
  // Python: hmac.new(bytes(range(16)), b"cardperso/v1/master-code\0" + iccid, sha256).hexdigest()[:16]
  const Bytes secret = hex("000102030405060708090a0b0c0d0e0f");
  EXPECT_EQ(to_hex(derive_master_code(secret, "8988211000000000011").view()), "c46919dfc5bcc287");
  EXPECT_EQ(to_hex(derive_master_code(secret, "8988211320300000028").view()), "a5fc09e1663772c8");
}
