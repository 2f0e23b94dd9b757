#pragma once
// PersoServices over the ADS SQLite store and the assessment policy.
//
// Store calls are synchronous and serialised by a mutex; give this object its own Database
// connection (SQLite's busy timeout and BEGIN IMMEDIATE then order it against the connection the
// handshake uses). assess() touches no database: with an external command it blocks up to the
// command's timeout, so the daemon runs it on a small thread pool (ads-server/net).
//
// The configuration and the policy are one immutable snapshot (PersoSettings) held in an atomic
// shared_ptr: install() swaps in a new one whole, assess() on the pool and config() on the io thread
// each read one snapshot, and a card that holds the old one keeps it alive until it is done.
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "cardperso/ads/perso/perso_services.hpp"
#include "cardperso/ads/store/audit_log.hpp"
#include "cardperso/ads/store/master_key.hpp"
#include "cardperso/ads/store/sqlite_db.hpp"

namespace cardperso::ads {

// What personalisation runs with: the card profile and its values, and the assessment policy.
struct PersoSettings {
  PersoConfig config;
  policy::PolicyConfig policy;
};

class SqlitePersoServices final : public PersoServices {
 public:
  // db and key must outlive this object. actor is what the audit log names ("ads-server").
  SqlitePersoServices(Database& db, const MasterKey& key, PersoConfig config, policy::PolicyConfig policy,
                      std::string actor = "ads-server", Clock clock = system_now);

  std::shared_ptr<const PersoConfig> config() const override;
  Seconds now() override { return clock_(); }
  policy::Decision assess(const policy::CustomerDetails& details) override;
  bool assess_may_block() const override;

  // The settings for every card and assessment from now on (a reload); what already holds the
  // previous snapshot keeps it. Safe against assess() running on another thread.
  void install(PersoConfig config, policy::PolicyConfig policy);
  std::shared_ptr<const PersoSettings> settings() const { return settings_.load(); }

  Result<std::int64_t> record_decision(std::string_view retailer_serial, std::optional<std::int64_t> session_id, bool go,
                                       const std::vector<std::string>& reasons) override;
  Result<CardLookup> inspect_card(std::string_view retailer_serial, std::string_view iccid,
                                  CardPurpose purpose) override;
  Result<int> begin_personalisation(std::string_view iccid, CardPurpose purpose) override;
  Result<CardRecords::Numbers> reserve_numbers(std::string_view iccid) override;
  Result<std::string> reserve_new_msisdn(std::string_view iccid) override;
  Result<SecretBytes> pending_issuer_code(std::string_view iccid) override;
  Result<CurrentRecord> current_record(std::string_view iccid) override;
  Result<void> record_personalisation(const PersonalisationRecord& record) override;
  Result<int> record_modification(const ModificationRecord& record) override;
  Result<CardState> mark_failed(std::string_view iccid, const CardFailure& failure) override;
  Result<ReceiptData> reissue_receipt(std::string_view iccid, std::string_view retailer_serial,
                                      std::optional<std::int64_t> session_id) override;
  Result<void> audit_card_check(std::string_view event, std::string_view iccid, std::string_view detail) override;

  // Called after a record (new card or modification) commits: it queued an HLR job.
  void on_record_committed(std::function<void()> hook) { record_committed_ = std::move(hook); }
  // Called when a card's attempt ends (personalised, modified, failed, spoiled) with the time since
  // begin_personalisation: the personalisation latency the metrics export.
  using CardDone = std::function<void(std::string_view outcome, std::chrono::duration<double> took)>;
  void on_card_done(CardDone hook) { card_done_ = std::move(hook); }

 private:
  void card_done(std::string_view iccid, std::string_view outcome);

  std::function<void()> record_committed_;
  CardDone card_done_;
  std::map<std::string, std::chrono::steady_clock::time_point, std::less<>> started_;
  std::mutex mutex_;
  Database& db_;
  std::string actor_;
  std::atomic<std::shared_ptr<const PersoSettings>> settings_;
  Clock clock_;
  AuditLog audit_;
  CardStock stock_;
  CardRecords records_;
};

// The UTC calendar date of a store time (the policy's "today").
policy::Date utc_date(Seconds t);

}  // namespace cardperso::ads
