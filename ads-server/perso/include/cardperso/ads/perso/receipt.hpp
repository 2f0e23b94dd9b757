#pragma once
// The receipt the DTD prints (the Receipt message's JSON, proto/PROTOCOL.md §Personalisation):
//   {"receipt_id", "time", "retailer", "iccid", "msisdn", "customer_name", "outcome", "record_version"}
// It never holds a code, a PIN, Ki or OPc: there is no field for them.
#include <string>
#include <string_view>

#include "cardperso/ads/store/card_records.hpp"
#include "cardperso/ads/store/clock.hpp"
#include "cardperso/common/result.hpp"

namespace cardperso::ads {

struct ReceiptData {
  std::string receipt_id;  // "<iccid>-<record_version>": one receipt per record version
  std::string time;        // UTC, "2023-11-14T22:13:20Z"
  std::string retailer;    // the retailer card's serial
  std::string iccid, msisdn;
  std::string customer_name;
  std::string outcome;     // "personalised" or "modified"
  int record_version = 0;
  bool reissued = false;   // printed again for a record issued before ("reissued": true)
};

std::string receipt_json(const ReceiptData& receipt);

// The receipt of a card's latest record as it was first issued (its time is the record's), to give
// it again: to a shop whose final message was lost, or from adsctl. The customer's name comes from
// the stored details (empty when they no longer parse).
Result<ReceiptData> receipt_of_latest_record(CardRecords& records, std::string_view iccid);

// "2023-11-14T22:13:20Z"
std::string utc_timestamp(Seconds t);

}  // namespace cardperso::ads
