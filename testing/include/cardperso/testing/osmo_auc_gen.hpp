#pragma once
// osmo-auc-gen (libosmocore-utils) as an independent oracle for Milenage: the values libosmocore
// computes for a K, OPc and RAND, to hold our own implementation and osmo-hlr's tuples against.
#include <string>

#include "cardperso/common/bytes.hpp"
#include "cardperso/common/result.hpp"

namespace cardperso::testing {

// What `osmo-auc-gen -3` prints, as bytes; fields it did not print stay empty.
struct AucGenVector {
  Bytes rand, autn, ik, ck, res;  // 3G
  Bytes sres, kc;                 // the GSM conversion (SRES = c2(RES), Kc = c3(CK, IK))
};

// Runs `osmo-auc-gen -3 -a milenage -k K -o OPc -r RAND` (found in PATH). Fails when it cannot run,
// exits other than 0, or prints no SRES or Kc. K and OPc appear on its command line: test keys only.
Result<AucGenVector> osmo_auc_gen_milenage(ByteView k, ByteView opc, ByteView rand);

// Parses its output: "NAME:<tab>hex" lines (RAND, AUTN, IK, CK, RES, SRES, Kc); the banner, SQN,
// IND and the base64 IMS lines are skipped. Fails when SRES or Kc is missing or a value is not hex.
Result<AucGenVector> parse_osmo_auc_gen_output(const std::string& text);

}  // namespace cardperso::testing
