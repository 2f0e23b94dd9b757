#include "cardperso/ads/policy/customer_details.hpp"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace cardperso::ads::policy {

namespace {

struct FieldRule {
  std::string_view name;
  std::size_t max;
};
constexpr FieldRule kRules[] = {{"name", 100},       {"date_of_birth", 10}, {"address", 200},
                                {"id_document", 32}, {"id_number", 32},     {"email", 254}};

bool leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }
int days_in(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap(y) ? 29 : kDays[m - 1];
}

bool has_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7F; });
}

const std::string kEmpty;

}  // namespace

Result<Date> parse_date(std::string_view t) {
  auto digit = [&](std::size_t i) { return t[i] >= '0' && t[i] <= '9'; };
  if (t.size() != 10 || t[4] != '-' || t[7] != '-') return fail("a date is written YYYY-MM-DD");
  for (std::size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
    if (!digit(i)) return fail("a date is written YYYY-MM-DD");
  auto num = [&](std::size_t at, std::size_t n) {
    int v = 0;
    for (std::size_t i = at; i < at + n; ++i) v = v * 10 + (t[i] - '0');
    return v;
  };
  Date d{num(0, 4), num(5, 2), num(8, 2)};
  if (d.year < 1900 || d.year > 2199) return fail("the year of a date must be 1900 to 2199");
  if (d.month < 1 || d.month > 12 || d.day < 1 || d.day > days_in(d.year, d.month)) {
    return fail(std::string(t) + " is not a calendar date");
  }
  return d;
}

std::string to_string(const Date& d) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", d.year, d.month, d.day);
  return buf;
}

int age_on(const Date& born, const Date& on) {
  int years = on.year - born.year;
  if (on.month < born.month || (on.month == born.month && on.day < born.day)) --years;
  return years;
}

const std::string& field_value(const CustomerDetails& d, std::string_view field) {
  if (field == "name") return d.name;
  if (field == "date_of_birth") return d.date_of_birth;
  if (field == "address") return d.address;
  if (field == "id_document") return d.id_document;
  if (field == "id_number") return d.id_number;
  if (field == "email") return d.email ? *d.email : kEmpty;
  throw std::invalid_argument("unknown customer detail field");
}

Result<CustomerDetails> parse_customer_details(std::string_view json) {
  if (json.size() > kMaxDetailsJson) {
    return fail("customer details are too long (" + std::to_string(json.size()) + " bytes; at most " +
                std::to_string(kMaxDetailsJson) + ")");
  }
  auto j = nlohmann::json::parse(json, nullptr, false);
  if (j.is_discarded()) return fail("customer details are not valid JSON");
  if (!j.is_object()) return fail("customer details must be a JSON object");
  CustomerDetails d;
  for (const auto& [key, value] : j.items()) {
    const auto rule = std::find_if(std::begin(kRules), std::end(kRules), [&](const FieldRule& r) { return r.name == key; });
    if (rule == std::end(kRules)) return fail("customer details: unknown field \"" + key.substr(0, 32) + "\"");
    if (!value.is_string()) return fail("customer details: " + key + " must be a string");
    std::string text = value.get<std::string>();
    if (text.size() > rule->max) {
      return fail("customer details: " + key + " is longer than " + std::to_string(rule->max) + " characters");
    }
    if (has_control(text)) return fail("customer details: " + key + " contains control characters");
    if (key == "name") d.name = std::move(text);
    else if (key == "date_of_birth") d.date_of_birth = std::move(text);
    else if (key == "address") d.address = std::move(text);
    else if (key == "id_document") d.id_document = std::move(text);
    else if (key == "id_number") d.id_number = std::move(text);
    else d.email = std::move(text);
  }
  if (!d.date_of_birth.empty()) {
    if (auto date = parse_date(d.date_of_birth); !date) return fail("customer details: date_of_birth: " + date.error().message);
  }
  return d;
}

std::string to_json(const CustomerDetails& d) {
  nlohmann::json j{{"name", d.name},
                   {"date_of_birth", d.date_of_birth},
                   {"address", d.address},
                   {"id_document", d.id_document},
                   {"id_number", d.id_number}};
  if (d.email) j["email"] = *d.email;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace cardperso::ads::policy
