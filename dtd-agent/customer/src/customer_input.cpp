#include "cardperso/dtd/customer_input.hpp"

#include <algorithm>
#include <fstream>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>

#include "cardperso/card/iccid.hpp"
#include "cardperso/card/plmn.hpp"

namespace cardperso::dtd {

namespace {

using json = nlohmann::ordered_json;

constexpr std::size_t kMaxFile = 64 * 1024;
constexpr int kPromptTries = 3;

struct Field {
  std::string_view name;
  std::string_view prompt;
  std::size_t max;
  bool required;
};
// The ADS's limits (ads-server/policy customer_details).
constexpr Field kFields[] = {{"name", "Name", 100, true},
                             {"date_of_birth", "Date of birth (YYYY-MM-DD)", 10, true},
                             {"address", "Address", 200, true},
                             {"id_document", "Identity document (e.g. passport)", 32, true},
                             {"id_number", "Identity document number", 32, true},
                             {"email", "Email (optional)", 254, false}};

bool has_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7F; });
}
bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A phrase that follows the field's name, or nothing when the value is fine.
std::optional<std::string> date_problem(std::string_view t) {
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (t.size() != 10 || t[4] != '-' || t[7] != '-' || !all_digits(t.substr(0, 4)) || !all_digits(t.substr(5, 2)) ||
      !all_digits(t.substr(8, 2)))
    return "must be written YYYY-MM-DD";
  const int y = std::stoi(std::string(t.substr(0, 4))), m = std::stoi(std::string(t.substr(5, 2))),
            d = std::stoi(std::string(t.substr(8, 2)));
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (y < 1900 || y > 2199 || m < 1 || m > 12 || d < 1 || d > kDays[m - 1] || (m == 2 && d == 29 && !leap))
    return "is not a calendar date";
  return std::nullopt;
}

std::optional<std::string> field_problem(const Field& f, std::string_view value) {
  if (f.required && value.empty()) return "is required";
  if (value.size() > f.max) return "is longer than " + std::to_string(f.max) + " characters";
  if (has_control(value)) return "contains control characters";
  if (f.name == "date_of_birth" && !value.empty()) return date_problem(value);
  return std::nullopt;
}

Result<void> check_field(const Field& f, std::string_view value) {
  if (auto problem = field_problem(f, value)) return fail(std::string(f.name) + " " + *problem);
  return {};
}

// The first error of a form in the fields' order, as one line (the files' way).
std::string first_error(const FieldErrors& errors, std::initializer_list<std::string_view> order) {
  if (const auto form = errors.find(std::string(kFormError)); form != errors.end()) return form->second;
  for (std::string_view field : order)
    if (const auto it = errors.find(std::string(field)); it != errors.end()) return it->first + " " + it->second;
  return errors.begin()->first + " " + errors.begin()->second;
}

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail("cannot open " + path);
  std::string text;
  text.resize(kMaxFile + 1);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > kMaxFile) return fail(path + " is larger than " + std::to_string(kMaxFile) + " bytes");
  return text;
}

Result<CustomerRequest> finish(json j, proto::RequestKind kind, std::string origin) {
  CustomerRequest r;
  r.kind = kind;
  r.json = j.dump(-1, ' ', false, json::error_handler_t::strict);
  r.origin = std::move(origin);
  if (r.json.size() > proto::kMaxDetailsJson)
    return fail(r.origin + ": the request is " + std::to_string(r.json.size()) + " bytes of JSON; at most " +
                std::to_string(proto::kMaxDetailsJson));
  return r;
}

}  // namespace

std::vector<std::string> required_customer_fields() {
  std::vector<std::string> out;
  for (const Field& f : kFields)
    if (f.required) out.emplace_back(f.name);
  return out;
}

FieldErrors check_customer_details(std::string_view text) {
  FieldErrors errors;
  const std::string form(kFormError);
  auto in = json::parse(text, nullptr, false);
  if (in.is_discarded()) return {{form, "customer details are not valid JSON"}};
  if (!in.is_object()) return {{form, "customer details must be a JSON object"}};
  for (const auto& [key, value] : in.items()) {
    const auto* f = std::find_if(std::begin(kFields), std::end(kFields), [&](const Field& x) { return x.name == key; });
    if (f == std::end(kFields))
      errors.emplace(form, "unknown field \"" + key.substr(0, 32) +
                               "\" (known: name, date_of_birth, address, id_document, id_number, email)");
    else if (!value.is_string())
      errors.emplace(key, "must be a string");
  }
  for (const Field& f : kFields) {
    const std::string name(f.name);
    if (errors.count(name) != 0U) continue;
    const auto it = in.find(name);
    if (auto problem = field_problem(f, it == in.end() ? std::string() : it->get<std::string>()))
      errors.emplace(name, *problem);
  }
  return errors;
}

Result<CustomerRequest> parse_customer_details(std::string_view text, std::string origin) {
  if (auto errors = check_customer_details(text); !errors.empty()) return fail(origin + ": " + first_error(errors, {"name", "date_of_birth", "address", "id_document", "id_number", "email"}));
  const auto in = json::parse(text);
  json out = json::object();
  for (const Field& f : kFields)
    if (const auto it = in.find(std::string(f.name)); it != in.end()) out[std::string(f.name)] = *it;
  try {
    return finish(std::move(out), proto::RequestKind::NewCard, std::move(origin));
  } catch (const json::exception&) {
    return fail("customer details are not valid UTF-8");
  }
}

FieldErrors check_modification(std::string_view text) {
  FieldErrors errors;
  const std::string form(kFormError);
  auto in = json::parse(text, nullptr, false);
  if (in.is_discarded()) return {{form, "the modification request is not valid JSON"}};
  if (!in.is_object()) return {{form, "the modification request must be a JSON object"}};
  for (const auto& [key, value] : in.items())
    if (key != "iccid" && key != "changes") errors.emplace(form, "unknown field \"" + key.substr(0, 32) + "\"");
  if (!in.contains("iccid") || !in["iccid"].is_string()) {
    errors.emplace("iccid", "is required (a string of digits)");
  } else {
    const std::string iccid = in["iccid"].get<std::string>();
    if (!all_digits(iccid) || iccid.size() < 18 || iccid.size() > proto::kMaxIccidDigits)
      errors.emplace("iccid", "must be 18 to 20 digits");
    else if (iccid.size() == 19 && card::luhn_digit(std::string_view(iccid).substr(0, 18)) != iccid.back())
      errors.emplace("iccid", "has a wrong check digit (the last one): check for a typo");
  }
  if (!in.contains("changes") || !in["changes"].is_object() || in["changes"].empty()) {
    errors.emplace(form, "changes must be an object with at least one of spn, plmnsel, msisdn");
    return errors;
  }
  for (const auto& [key, value] : in["changes"].items()) {
    if (key == "spn") {
      if (!value.is_string() || value.get<std::string>().empty() || value.get<std::string>().size() > 16 ||
          has_control(value.get<std::string>()))
        errors.emplace(key, "must be 1 to 16 printable characters");
    } else if (key == "plmnsel") {
      if (!value.is_array() || value.empty() || value.size() > 32) {
        errors.emplace(key, "must be a list of 1 to 32 PLMNs");
        continue;
      }
      for (const auto& p : value)
        if (!p.is_string() || p.get<std::string>().size() > 7 || !card::parse_plmn(p.get<std::string>())) {
          errors.emplace(key, "entries are MCC/MNC such as \"228/01\"");
          break;
        }
    } else if (key == "msisdn") {
      // The shop asks for a new number; the ADS picks it from its pool.
      if (!value.is_string() || value.get<std::string>() != "new")
        errors.emplace(key, "must be \"new\" (the ADS gives the card a fresh number)");
    } else {
      errors.emplace(form, "changes: unknown field \"" + key.substr(0, 32) + "\" (known: spn, plmnsel, msisdn)");
    }
  }
  return errors;
}

Result<CustomerRequest> parse_modification(std::string_view text, std::string origin) {
  if (auto errors = check_modification(text); !errors.empty()) return fail(origin + ": " + first_error(errors, {"iccid", "spn", "plmnsel", "msisdn"}));
  const auto in = json::parse(text);
  json out{{"iccid", in["iccid"]}, {"changes", json::object()}};
  for (const auto& [key, value] : in["changes"].items()) out["changes"][key] = value;
  try {
    return finish(std::move(out), proto::RequestKind::Modification, std::move(origin));
  } catch (const json::exception&) {
    return fail(origin + ": the modification request is not valid UTF-8");
  }
}

Result<CustomerRequest> load_customer_file(const std::string& path) {
  auto text = read_file(path);
  if (!text) return text.error();
  return parse_customer_details(*text, path);
}

Result<CustomerRequest> load_modification_file(const std::string& path) {
  auto text = read_file(path);
  if (!text) return text.error();
  return parse_modification(*text, path);
}

Result<CustomerRequest> prompt_customer(std::istream& in, std::ostream& out) {
  json details = json::object();
  for (const Field& f : kFields) {
    for (int attempt = 1;; ++attempt) {
      out << f.prompt << ": " << std::flush;
      std::string line;
      if (!std::getline(in, line)) return fail("customer entry ended before " + std::string(f.name) + " was given");
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (auto ok = check_field(f, line); !ok) {
        out << "  " << ok.error().message << "\n";
        if (attempt >= kPromptTries) return fail("customer entry: " + ok.error().message);
        continue;
      }
      if (!line.empty()) details[std::string(f.name)] = line;
      break;
    }
  }
  try {
    return finish(std::move(details), proto::RequestKind::NewCard, "interactive entry");
  } catch (const json::exception&) {
    return fail("customer entry is not valid UTF-8");
  }
}

}  // namespace cardperso::dtd
