#pragma once
// The customer details a retailer types at the DTD, as the ADS receives them (JSON under SK_D), parsed
// strictly: an object with only the known fields, each a string of bounded length without control
// characters; date_of_birth a real calendar date YYYY-MM-DD. A field may be absent or empty: whether it
// is required is the policy's business (assessment_policy.hpp), not the parser's.
#include <optional>
#include <string>
#include <string_view>

#include "cardperso/common/result.hpp"

namespace cardperso::ads::policy {

struct Date {
  int year = 0, month = 0, day = 0;
  friend auto operator<=>(const Date&, const Date&) = default;
};
// "YYYY-MM-DD", years 1900..2199, a day that exists in that month.
Result<Date> parse_date(std::string_view text);
std::string to_string(const Date& date);
// Whole years from `born` to `on` (a birthday on 29 February counts from 1 March in other years).
int age_on(const Date& born, const Date& on);

inline constexpr std::size_t kMaxDetailsJson = 4096;

struct CustomerDetails {
  std::string name;           // <= 100
  std::string date_of_birth;  // "" or YYYY-MM-DD
  std::string address;        // <= 200
  std::string id_document;    // <= 32, e.g. "passport"
  std::string id_number;      // <= 32
  std::optional<std::string> email;  // <= 254
};

// The field names, in the order above; the policy's required_fields must be among them.
inline constexpr std::string_view kDetailFields[] = {"name", "date_of_birth", "address", "id_document", "id_number",
                                                      "email"};
// The value of a field by name ("" when absent); an unknown name is a programmer error (throws).
const std::string& field_value(const CustomerDetails& details, std::string_view field);

Result<CustomerDetails> parse_customer_details(std::string_view json);
// Canonical JSON (what is sealed in the subscriber record and given to an external command).
std::string to_json(const CustomerDetails& details);

}  // namespace cardperso::ads::policy
