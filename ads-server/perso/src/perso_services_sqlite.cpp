#include "cardperso/ads/perso/perso_services_sqlite.hpp"

#include <chrono>

namespace cardperso::ads {

SqlitePersoServices::SqlitePersoServices(Database& db, const MasterKey& key, PersoConfig config,
                                         policy::PolicyConfig policy, std::string actor, Clock clock)
    : db_(db),
      actor_(actor),
      settings_(std::make_shared<const PersoSettings>(PersoSettings{std::move(config), std::move(policy)})),
      clock_(std::move(clock)),
      audit_(db, key, clock_),
      stock_(db, key, audit_, actor, clock_),
      records_(db, key, audit_, actor, clock_) {}

std::shared_ptr<const PersoConfig> SqlitePersoServices::config() const {
  auto settings = settings_.load();
  return {settings, &settings->config};  // shares the snapshot's ownership: the policy goes with it
}

policy::Decision SqlitePersoServices::assess(const policy::CustomerDetails& details) {
  // No lock: the snapshot is immutable (a reload swaps the pointer) and the call touches no database.
  const auto settings = settings_.load();
  return policy::assess(settings->policy, details, utc_date(clock_()));
}

bool SqlitePersoServices::assess_may_block() const { return settings_.load()->policy.external.has_value(); }

void SqlitePersoServices::install(PersoConfig config, policy::PolicyConfig policy) {
  settings_.store(std::make_shared<const PersoSettings>(PersoSettings{std::move(config), std::move(policy)}));
}

Result<std::int64_t> SqlitePersoServices::record_decision(std::string_view retailer_serial,
                                                          std::optional<std::int64_t> session_id, bool go,
                                                          const std::vector<std::string>& reasons) {
  std::lock_guard lock(mutex_);
  return records_.record_decision(retailer_serial, session_id, go, reasons);
}

Result<CardLookup> SqlitePersoServices::inspect_card(std::string_view retailer_serial, std::string_view iccid,
                                                     CardPurpose purpose) {
  std::lock_guard lock(mutex_);
  return stock_.inspect_card_for(retailer_serial, iccid, purpose);
}

Result<int> SqlitePersoServices::begin_personalisation(std::string_view iccid, CardPurpose purpose) {
  std::lock_guard lock(mutex_);
  auto attempts = stock_.begin_personalisation(iccid, purpose);
  if (attempts && card_done_) started_.insert_or_assign(std::string(iccid), std::chrono::steady_clock::now());
  return attempts;
}

void SqlitePersoServices::card_done(std::string_view iccid, std::string_view outcome) {
  auto it = started_.find(iccid);
  if (it == started_.end()) return;
  if (card_done_) card_done_(outcome, std::chrono::steady_clock::now() - it->second);
  started_.erase(it);
}

Result<CardRecords::Numbers> SqlitePersoServices::reserve_numbers(std::string_view iccid) {
  std::lock_guard lock(mutex_);
  return records_.reserve_numbers(iccid);
}

Result<std::string> SqlitePersoServices::reserve_new_msisdn(std::string_view iccid) {
  std::lock_guard lock(mutex_);
  return records_.reserve_new_msisdn(iccid);
}

Result<SecretBytes> SqlitePersoServices::pending_issuer_code(std::string_view iccid) {
  std::lock_guard lock(mutex_);
  return stock_.pending_issuer_code(iccid);
}

Result<CurrentRecord> SqlitePersoServices::current_record(std::string_view iccid) {
  std::lock_guard lock(mutex_);
  auto history = records_.history(iccid);
  if (!history) return history.error();
  if (history->empty()) return fail("card " + std::string(iccid) + " has no record to modify");
  CurrentRecord out;
  out.version = history->back();
  auto keys = records_.keys_of(iccid, out.version.version);
  if (!keys) return keys.error();
  out.keys = std::move(*keys);
  // The name only goes on the receipt; details that no longer parse leave it empty.
  if (auto data = records_.personal_data(out.version.subscriber_id)) {
    if (auto details = policy::parse_customer_details(*data)) out.customer_name = details->name;
  }
  return out;
}

Result<void> SqlitePersoServices::record_personalisation(const PersonalisationRecord& record) {
  std::lock_guard lock(mutex_);
  auto recorded = records_.record_personalisation(record);
  if (recorded && record_committed_) record_committed_();
  if (recorded) card_done(record.iccid, "personalised");
  return recorded;
}

Result<int> SqlitePersoServices::record_modification(const ModificationRecord& record) {
  std::lock_guard lock(mutex_);
  auto recorded = records_.record_modification(record);
  if (recorded && record_committed_) record_committed_();
  if (recorded) card_done(record.iccid, "modified");
  return recorded;
}

Result<CardState> SqlitePersoServices::mark_failed(std::string_view iccid, const CardFailure& failure) {
  std::lock_guard lock(mutex_);
  auto state = stock_.mark_failed(iccid, failure);
  if (state) card_done(iccid, *state == CardState::Spoiled ? "spoiled" : "failed");
  return state;
}

policy::Date utc_date(Seconds t) {
  const std::chrono::year_month_day ymd{std::chrono::floor<std::chrono::days>(t)};
  return policy::Date{static_cast<int>(ymd.year()), static_cast<int>(static_cast<unsigned>(ymd.month())),
                      static_cast<int>(static_cast<unsigned>(ymd.day()))};
}

Result<ReceiptData> SqlitePersoServices::reissue_receipt(std::string_view iccid, std::string_view retailer_serial,
                                                         std::optional<std::int64_t> session_id) {
  std::lock_guard lock(mutex_);
  return db_.with_transaction([&]() -> Result<ReceiptData> {
    auto receipt = receipt_of_latest_record(records_, iccid);
    if (!receipt) return receipt.error();
    auto logged = audit_.append(actor_, "receipt_reissued", iccid,
                                "retailer=" + std::string(retailer_serial) + " record_version=" +
                                    std::to_string(receipt->record_version) +
                                    (session_id ? " session=" + std::to_string(*session_id) : std::string()));
    if (!logged) return logged.error();
    receipt->reissued = true;
    return receipt;
  });
}

Result<void> SqlitePersoServices::audit_card_check(std::string_view event, std::string_view iccid,
                                                  std::string_view detail) {
  std::lock_guard lock(mutex_);
  return db_.with_transaction([&]() -> Result<void> {
    auto logged = audit_.append(actor_, event, iccid, detail);
    if (!logged) return logged.error();
    return {};
  });
}

}  // namespace cardperso::ads
