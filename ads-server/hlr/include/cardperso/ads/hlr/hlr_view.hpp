#pragma once
// What the HLR holds for one subscriber (osmo-hlr's info-all reply: "\nfield\tvalue" lines), and how it
// compares with the ADS's record. K and OPc are compared in constant time and never shown: a difference
// names the field only.
#include <string>
#include <string_view>
#include <vector>

#include "cardperso/ads/hlr/subscriber_sync.hpp"
#include "cardperso/common/result.hpp"
#include "cardperso/common/secret_bytes.hpp"

namespace cardperso::ads::hlr {

struct HlrSubscriberView {
  std::string imsi, msisdn;  // msisdn empty: none
  bool cs_enabled = false, ps_enabled = false;
  std::string aud3g_algo;    // "MILENAGE", empty: no 3G auth data
  bool op_not_opc = false;   // the HLR holds OP rather than OPc
  SecretBytes k, opc;
  std::string aud2g_algo;    // empty: none (the ADS provisions none)
};

Result<HlrSubscriberView> parse_info_all(std::string_view text);

// Each difference between the HLR and the record, readable, without key material; empty: they match.
std::vector<std::string> compare_with_record(const HlrSubscriberView& hlr, const SubscriberData& record);

}  // namespace cardperso::ads::hlr
