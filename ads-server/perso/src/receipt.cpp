#include "cardperso/ads/perso/receipt.hpp"

#include <fmt/format.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "cardperso/ads/policy/customer_details.hpp"

namespace cardperso::ads {

std::string receipt_json(const ReceiptData& r) {
  nlohmann::ordered_json doc;
  doc["receipt_id"] = r.receipt_id;
  doc["time"] = r.time;
  doc["retailer"] = r.retailer;
  doc["iccid"] = r.iccid;
  doc["msisdn"] = r.msisdn;
  doc["customer_name"] = r.customer_name;
  doc["outcome"] = r.outcome;
  doc["record_version"] = r.record_version;
  if (r.reissued) doc["reissued"] = true;
  // A name that is not valid UTF-8 cannot come from the strict details parser; replace rather than throw.
  return doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<ReceiptData> receipt_of_latest_record(CardRecords& records, std::string_view iccid) {
  auto history = records.history(iccid);
  if (!history) return history.error();
  if (history->empty())
    return fail(Errc::NotFound, "card " + std::string(iccid) + " has no record: it was never personalised");
  const CardRecordVersion& v = history->back();
  ReceiptData r{fmt::format("{}-{}", v.iccid, v.version), utc_timestamp(v.created_at), v.retailer_serial, v.iccid,
                v.msisdn, "", v.version == 1 ? "personalised" : "modified", v.version, false};
  if (auto data = records.personal_data(v.subscriber_id))
    if (auto details = policy::parse_customer_details(*data)) r.customer_name = details->name;
  return r;
}

std::string utc_timestamp(Seconds t) {
  const auto day = std::chrono::floor<std::chrono::days>(t);
  const std::chrono::year_month_day ymd{day};
  const std::chrono::hh_mm_ss hms{t - day};
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()), hms.hours().count(),
                     hms.minutes().count(), hms.seconds().count());
}

}  // namespace cardperso::ads
