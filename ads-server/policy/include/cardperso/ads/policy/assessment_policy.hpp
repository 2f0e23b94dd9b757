#pragma once
// The ADS's go/no-go on a customer, configured by a JSON policy file:
//   {
//     "required_fields": ["name", "date_of_birth", "address", "id_document", "id_number"],
//     "min_age": 18,
//     "deny_list": ["X1234567", ...],
//     "external_command": {"argv": ["/usr/local/bin/kyc-check", "--strict"], "timeout_seconds": 5}
//   }
// Every key is optional; an unknown key or a wrong type is refused (a typo must not switch a rule off).
// The built-in rules run first and all their reasons are reported; the external command runs only
// when they pass. The policy fails closed: an external command that cannot start, fails or times out
// means no-go. Today's date is passed in (no clock inside), so a test decides what "today" is.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cardperso/ads/policy/customer_details.hpp"
#include "cardperso/ads/policy/external_assessor.hpp"
#include "cardperso/common/result.hpp"

namespace cardperso::ads::policy {

inline constexpr std::size_t kMaxPolicyFile = 4 * 1024 * 1024;

struct PolicyConfig {
  std::vector<std::string> required_fields;
  std::optional<int> min_age;
  std::vector<std::string> deny_list;  // id numbers, normalised (see normalise_id_number)
  std::optional<ExternalCommand> external;
};

// Upper case, without spaces, dots and dashes: "x 123-45" and "X12345" are the same document.
std::string normalise_id_number(std::string_view id_number);

// The policy when none is configured: name and date of birth required, age >= 18. The ADS applies it
// without --policy; dtd-agent's console checks its form with it without --policy.
PolicyConfig default_policy();

Result<PolicyConfig> parse_policy(std::string_view json);
Result<PolicyConfig> load_policy_file(const std::string& path);

struct Decision {
  bool go = false;
  std::vector<std::string> reasons;  // why not (no-go), or remarks (go); never personal data beyond the rule
};

// The built-in rules only.
Decision apply_builtin_rules(const PolicyConfig& policy, const CustomerDetails& details, const Date& today);
// Built-in rules, then the external command when configured.
Decision assess(const PolicyConfig& policy, const CustomerDetails& details, const Date& today);

}  // namespace cardperso::ads::policy
