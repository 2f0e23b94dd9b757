#pragma once
// What the retailer's web console shows and what its page may ask, sans-I/O: the links, the terminal's
// prompt (mirrored as a code, never the terminal's text), the request in hand (queued -> sent -> go /
// no-go -> outcome -> receipt), the queue, today's requests and a notice saying what to do when
// something went wrong. The desk reports to it (DeskObserver), the relay sets the links, the server
// sends state_json() to every page after each change and hands it the pages' messages.
//
// The page's forms are checked as the DTD checks a C1 (customer_input) plus the counter's share of the
// ADS's policy (required fields and minimum age; deny lists and external checks stay with the ADS),
// field by field, so the retailer can correct the form before anything is queued.
#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "cardperso/ads/policy/assessment_policy.hpp"
#include "cardperso/dtd/customer_desk.hpp"
#include "cardperso/dtd/customer_input.hpp"

namespace cardperso::dtd::console {

// The form's rules: the fields required (the DTD's and the policy's) and the minimum age (none: null).
struct ConsoleRules {
  std::vector<std::string> required;
  std::optional<int> min_age;
};
ConsoleRules rules_from_policy(const ads::policy::PolicyConfig& policy);

// The terminal's display state (codes in docs of the console protocol: "insert_retailer_card", ...).
struct Prompt {
  std::string code;
  int step = 0;
  int steps = 0;
};

// What the page's commands do outside the model.
struct ConsoleActions {
  std::function<std::size_t(CustomerRequest)> submit{};  // queues a request, returns its number
  std::function<void()> end_session{};
};

inline constexpr std::string_view kTerminalDroppedNotice =
    "The terminal disconnected while the card was being written. The card is marked failed at the issuer; "
    "reconnect the terminal, sign on again and insert the same card: it will be written again.";
inline constexpr std::string_view kAdsDownNotice =
    "The issuer's server is not reachable; requests wait here and are sent when it is back.";

class ConsoleModel : public DeskObserver {
 public:
  using Now = std::function<std::chrono::system_clock::time_point()>;
  ConsoleModel(ConsoleRules rules, ConsoleActions actions, Now now = &std::chrono::system_clock::now);

  // Called after every change (the server then sends state_json() to every page).
  void set_on_change(std::function<void()> on_change) { on_change_ = std::move(on_change); }

  void set_links(bool ads_up, bool terminal_up, bool retailer_signed_on);
  void set_prompt(std::optional<Prompt> prompt);

  // {"type":"state", ...} as the page protocol defines it.
  std::string state_json() const;
  // One message from a page -> the reply to that page (form_errors or accepted); nullopt: no reply.
  std::optional<std::string> handle(std::string_view message);
  // The receipt JSON of a receipt id this agent received (the receipt page).
  std::optional<std::string> receipt(std::string_view receipt_id) const;

  // The form checks (field -> message; empty: valid), with today's date from the clock.
  FieldErrors check_new(std::string_view customer_json) const;

  // DeskObserver
  void request_queued(std::size_t id, const CustomerRequest& request) override;
  void request_sent(std::size_t id) override;
  void decided(std::size_t id, bool go, const std::string& reasons) override;
  void finished(std::size_t id, const RequestResult& result) override;
  void receipt(std::size_t id, const std::string& receipt_json) override;
  void interrupted(std::size_t id) override;

 private:
  struct Request {
    std::string kind;   // "new" | "modification"
    std::string label;  // the customer's name, or "card ICCID"
    std::string status = "queued";
    std::optional<bool> go;
    std::vector<std::string> reasons;
    std::optional<std::string> result;
    std::string iccid, msisdn, reason;
    std::optional<std::string> receipt_id;
    std::chrono::system_clock::time_point ended;
  };
  struct Notice {
    std::string level;
    std::string text;
  };

  void changed();
  void ended(std::size_t id);
  std::optional<std::string> submit_new(const nlohmann::json& message);
  std::optional<std::string> submit_modification(const nlohmann::json& message);

  ConsoleRules rules_;
  ConsoleActions actions_;
  Now now_;
  std::function<void()> on_change_;
  bool ads_up_ = false, terminal_up_ = false, signed_on_ = false;
  std::optional<Prompt> prompt_;
  std::map<std::size_t, Request> requests_;
  std::size_t shown_ = 0;           // the request in hand (the last one sent); 0: none sent yet
  std::deque<std::size_t> ended_;  // requests with an outcome, newest first (bounded)
  std::map<std::string, std::string, std::less<>> receipts_;  // receipt id -> the ADS's JSON
  std::deque<std::string> receipt_order_;
  std::optional<Notice> notice_;
};

}  // namespace cardperso::dtd::console
