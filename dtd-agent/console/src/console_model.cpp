#include "cardperso/dtd/console/console_model.hpp"

#include <algorithm>
#include <ctime>
#include <nlohmann/json.hpp>

#include "cardperso/ads/policy/customer_details.hpp"

namespace cardperso::dtd::console {

namespace {

using json = nlohmann::json;
using SysClock = std::chrono::system_clock;

constexpr std::size_t kMaxEnded = 1000;    // today's list is a day of one counter: far fewer
constexpr std::size_t kMaxReceipts = 200;  // printable again from the console this many back

std::tm local_tm(SysClock::time_point t) {
  const std::time_t tt = SysClock::to_time_t(t);
  std::tm tm{};
  ::localtime_r(&tt, &tm);
  return tm;
}

bool same_local_day(SysClock::time_point a, SysClock::time_point b) {
  const std::tm x = local_tm(a), y = local_tm(b);
  return x.tm_year == y.tm_year && x.tm_yday == y.tm_yday;
}

std::string utc_time(SysClock::time_point t) {
  const std::time_t tt = SysClock::to_time_t(t);
  std::tm tm{};
  ::gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::vector<std::string> split_reasons(const std::string& reasons) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while (at <= reasons.size() && !reasons.empty()) {
    const auto sep = reasons.find("; ", at);
    std::string part = reasons.substr(at, sep == std::string::npos ? std::string::npos : sep - at);
    if (!part.empty()) out.push_back(std::move(part));
    if (sep == std::string::npos) break;
    at = sep + 2;
  }
  return out;
}

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : "; ") + p;
  return out;
}

json opt(const std::optional<std::string>& s) { return s ? json(*s) : json(nullptr); }

std::string form_errors(std::string_view form, const FieldErrors& errors) {
  json e = json::object();
  for (const auto& [field, message] : errors) e[field] = message;
  return json{{"type", "form_errors"}, {"form", form}, {"errors", e}}.dump();
}

}  // namespace

ConsoleRules rules_from_policy(const ads::policy::PolicyConfig& policy) {
  ConsoleRules rules{required_customer_fields(), policy.min_age};
  for (const auto& field : policy.required_fields)
    if (std::find(rules.required.begin(), rules.required.end(), field) == rules.required.end())
      rules.required.push_back(field);
  return rules;
}

ConsoleModel::ConsoleModel(ConsoleRules rules, ConsoleActions actions, Now now)
    : rules_(std::move(rules)), actions_(std::move(actions)), now_(std::move(now)) {}

void ConsoleModel::changed() {
  if (on_change_) on_change_();
}

void ConsoleModel::set_links(bool ads_up, bool terminal_up, bool retailer_signed_on) {
  if (ads_up == ads_up_ && terminal_up == terminal_up_ && retailer_signed_on == signed_on_) return;
  ads_up_ = ads_up;
  // No terminal, no display to mirror.
  if (!terminal_up) prompt_.reset();
  terminal_up_ = terminal_up;
  signed_on_ = retailer_signed_on;
  changed();
}

void ConsoleModel::set_prompt(std::optional<Prompt> prompt) {
  prompt_ = std::move(prompt);
  changed();
}

std::string ConsoleModel::state_json() const {
  json state{{"type", "state"},
             {"links",
              {{"ads", ads_up_ ? "up" : "down"},
               {"terminal", terminal_up_ ? "up" : "down"},
               {"retailer", signed_on_ ? "signed_on" : "none"}}}};
  state["prompt"] = prompt_ ? json{{"code", prompt_->code}, {"step", prompt_->step}, {"steps", prompt_->steps}}
                            : json(nullptr);
  state["rules"] = {{"required", rules_.required},
                    {"min_age", rules_.min_age ? json(*rules_.min_age) : json(nullptr)}};
  // The request in hand: the last one sent, else the first one waiting.
  std::size_t shown = shown_;
  if (shown == 0)
    for (const auto& [id, r] : requests_)
      if (r.status == "queued") {
        shown = id;
        break;
      }
  json request = nullptr;
  std::size_t queue = 0;
  for (const auto& [id, r] : requests_)
    if (r.status == "queued" && id != shown) ++queue;
  if (const auto it = requests_.find(shown); it != requests_.end()) {
    const Request& r = it->second;
    request = {{"id", shown}, {"kind", r.kind}, {"label", r.label}, {"status", r.status}};
    request["decision"] = r.go ? json{{"go", *r.go}, {"reasons", r.reasons}} : json(nullptr);
    request["outcome"] = r.result ? json{{"result", *r.result}, {"iccid", r.iccid}, {"msisdn", r.msisdn},
                                         {"reason", r.reason}}
                                  : json(nullptr);
    request["receipt_id"] = opt(r.receipt_id);
  }
  state["request"] = request;
  state["queue"] = queue;
  json today = json::array();
  const auto now = now_();
  for (std::size_t id : ended_) {
    const Request& r = requests_.at(id);
    if (!same_local_day(r.ended, now)) continue;
    today.push_back({{"id", id}, {"time", utc_time(r.ended)}, {"kind", r.kind}, {"label", r.label},
                     {"result", r.result.value_or("no_go")}, {"iccid", r.iccid}, {"msisdn", r.msisdn},
                     {"reason", r.result ? r.reason : join(r.reasons)}, {"receipt_id", opt(r.receipt_id)}});
  }
  state["today"] = today;
  if (notice_)
    state["notice"] = {{"level", notice_->level}, {"text", notice_->text}};
  else if (!ads_up_)
    state["notice"] = {{"level", "warning"}, {"text", kAdsDownNotice}};
  else
    state["notice"] = nullptr;
  return state.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::optional<std::string> ConsoleModel::handle(std::string_view message) {
  const auto unknown = form_errors("", {{std::string(kFormError), "unknown message"}});
  auto m = json::parse(message, nullptr, false);
  if (m.is_discarded() || !m.is_object() || !m.contains("type") || !m["type"].is_string()) return unknown;
  const std::string type = m["type"].get<std::string>();
  if (type == "submit_new") return submit_new(m);
  if (type == "submit_modification") return submit_modification(m);
  if (type == "end_session") {
    notice_ = signed_on_ ? Notice{"info", "The session ends as soon as no card is in progress."}
                         : Notice{"info", "No session is open: nothing to end."};
    if (actions_.end_session) actions_.end_session();
    changed();
    return std::nullopt;
  }
  return unknown;
}

FieldErrors ConsoleModel::check_new(std::string_view customer_json) const {
  FieldErrors errors = check_customer_details(customer_json);
  auto j = json::parse(customer_json, nullptr, false);
  if (!j.is_object()) return errors;
  for (const auto& field : rules_.required) {
    const auto it = j.find(field);
    if ((it == j.end() || (it->is_string() && it->get<std::string>().empty())) && errors.count(field) == 0U)
      errors.emplace(field, "is required");
  }
  if (rules_.min_age && errors.count("date_of_birth") == 0U && j.contains("date_of_birth") &&
      j["date_of_birth"].is_string()) {
    if (auto born = ads::policy::parse_date(j["date_of_birth"].get<std::string>())) {
      const std::tm tm = local_tm(now_());
      const ads::policy::Date today{tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday};
      if (ads::policy::age_on(*born, today) < *rules_.min_age)
        errors.emplace("date_of_birth", "shows a customer under " + std::to_string(*rules_.min_age) +
                                            ": the issuer does not give cards to under-" +
                                            std::to_string(*rules_.min_age) + "s");
    }
  }
  return errors;
}

std::optional<std::string> ConsoleModel::submit_new(const json& message) {
  if (!message.contains("customer") || !message["customer"].is_object())
    return form_errors("new", {{std::string(kFormError), "customer must be an object of the form's fields"}});
  // A field left empty in the form is a field not given.
  json customer = json::object();
  for (const auto& [key, value] : message["customer"].items())
    if (!(value.is_string() && value.get<std::string>().empty())) customer[key] = value;
  const std::string text = customer.dump();
  if (auto errors = check_new(text); !errors.empty()) return form_errors("new", errors);
  auto request = parse_customer_details(text, "the console");
  if (!request) return form_errors("new", {{std::string(kFormError), request.error().message}});
  const std::size_t id = actions_.submit ? actions_.submit(std::move(*request)) : 0;
  return json{{"type", "accepted"}, {"form", "new"}, {"id", id}}.dump();
}

std::optional<std::string> ConsoleModel::submit_modification(const json& message) {
  json body = json::object();
  if (message.contains("iccid")) body["iccid"] = message["iccid"];
  if (message.contains("changes")) {
    if (!message["changes"].is_object())
      return form_errors("modification", {{std::string(kFormError), "changes must be an object"}});
    json changes = json::object();
    for (const auto& [key, value] : message["changes"].items())
      if (!value.is_null() && !(value.is_string() && value.get<std::string>().empty()) &&
          !(value.is_array() && value.empty()))
        changes[key] = value;
    body["changes"] = changes;
  }
  const std::string text = body.dump();
  if (auto errors = check_modification(text); !errors.empty()) return form_errors("modification", errors);
  auto request = parse_modification(text, "the console");
  if (!request) return form_errors("modification", {{std::string(kFormError), request.error().message}});
  const std::size_t id = actions_.submit ? actions_.submit(std::move(*request)) : 0;
  return json{{"type", "accepted"}, {"form", "modification"}, {"id", id}}.dump();
}

std::optional<std::string> ConsoleModel::receipt(std::string_view receipt_id) const {
  const auto it = receipts_.find(receipt_id);
  if (it == receipts_.end()) return std::nullopt;
  return it->second;
}

// ---- the desk's events ---------------------------------------------------------------------------

void ConsoleModel::request_queued(std::size_t id, const CustomerRequest& request) {
  Request r;
  const auto j = json::parse(request.json, nullptr, false);
  if (request.kind == proto::RequestKind::Modification) {
    r.kind = "modification";
    r.label = "card " + (j.is_object() && j.contains("iccid") && j["iccid"].is_string() ? j["iccid"].get<std::string>()
                                                                                         : std::string("?"));
  } else {
    r.kind = "new";
    r.label = j.is_object() && j.contains("name") && j["name"].is_string() ? j["name"].get<std::string>()
                                                                           : std::string("new customer");
  }
  requests_[id] = std::move(r);
  changed();
}

void ConsoleModel::request_sent(std::size_t id) {
  const auto it = requests_.find(id);
  if (it == requests_.end()) return;
  it->second.status = "sent";
  shown_ = id;
  // Whatever went wrong before is behind us once a request goes out again.
  notice_.reset();
  changed();
}

void ConsoleModel::decided(std::size_t id, bool go, const std::string& reasons) {
  const auto it = requests_.find(id);
  if (it == requests_.end()) return;
  it->second.go = go;
  it->second.reasons = split_reasons(reasons);
  it->second.status = go ? "go" : "no_go";
  if (!go) ended(id);
  changed();
}

void ConsoleModel::finished(std::size_t id, const RequestResult& result) {
  const auto it = requests_.find(id);
  if (it == requests_.end()) return;
  Request& r = it->second;
  r.status = "done";
  r.result = std::string(to_string(result.outcome));
  r.iccid = result.iccid;
  r.msisdn = result.msisdn;
  r.reason = result.reason;
  ended(id);
  changed();
}

void ConsoleModel::receipt(std::size_t id, const std::string& receipt_json) {
  const auto j = json::parse(receipt_json, nullptr, false);
  if (!j.is_object() || !j.contains("receipt_id") || !j["receipt_id"].is_string()) return;
  const std::string receipt_id = j["receipt_id"].get<std::string>();
  if (const auto it = requests_.find(id); it != requests_.end()) it->second.receipt_id = receipt_id;
  if (receipts_.emplace(receipt_id, receipt_json).second) receipt_order_.push_back(receipt_id);
  while (receipt_order_.size() > kMaxReceipts) {
    receipts_.erase(receipt_order_.front());
    receipt_order_.pop_front();
  }
  changed();
}

void ConsoleModel::interrupted(std::size_t id) {
  const auto it = requests_.find(id);
  if (it == requests_.end()) return;
  const bool writing = it->second.status == "go";
  it->second.status = "queued";
  it->second.go.reset();
  it->second.reasons.clear();
  if (writing && !terminal_up_)
    notice_ = Notice{"error", std::string(kTerminalDroppedNotice)};
  else if (!ads_up_)
    notice_ = Notice{"warning", std::string(kAdsDownNotice)};
  else
    notice_ = Notice{"warning", "The session ended before request " + std::to_string(id) +
                                    " was done. Nothing is lost: it is sent again when the retailer signs on "
                                    "at the terminal again."};
  changed();
}

void ConsoleModel::ended(std::size_t id) {
  requests_[id].ended = now_();
  ended_.push_front(id);
  while (ended_.size() > kMaxEnded) {
    requests_.erase(ended_.back());
    ended_.pop_back();
  }
}

}  // namespace cardperso::dtd::console
