#include "cardperso/ads/policy/assessment_policy.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

namespace cardperso::ads::policy {

namespace {

constexpr std::size_t kMaxDenyList = 1000000;
constexpr int kMaxTimeoutSeconds = 60;

bool known_field(std::string_view name) {
  return std::find(std::begin(kDetailFields), std::end(kDetailFields), name) != std::end(kDetailFields);
}

}  // namespace

std::string normalise_id_number(std::string_view id_number) {
  std::string out;
  for (char c : id_number) {
    if (c == ' ' || c == '-' || c == '.') continue;
    out.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  return out;
}

PolicyConfig default_policy() {
  PolicyConfig p;
  p.required_fields = {"name", "date_of_birth"};
  p.min_age = 18;
  return p;
}

Result<PolicyConfig> parse_policy(std::string_view json) {
  if (json.size() > kMaxPolicyFile) return fail("the policy file is too large");
  auto j = nlohmann::json::parse(json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail("the policy is not a JSON object");
  PolicyConfig p;
  for (const auto& [key, value] : j.items()) {
    if (key == "required_fields") {
      if (!value.is_array()) return fail("policy: required_fields must be a list of field names");
      for (const auto& f : value) {
        if (!f.is_string() || !known_field(f.get<std::string>())) {
          return fail("policy: required_fields: unknown field " + f.dump().substr(0, 40) +
                      " (known: name, date_of_birth, address, id_document, id_number, email)");
        }
        p.required_fields.push_back(f.get<std::string>());
      }
    } else if (key == "min_age") {
      if (!value.is_number_integer() || value.get<long long>() < 0 || value.get<long long>() > 150) {
        return fail("policy: min_age must be a whole number of years, 0 to 150");
      }
      p.min_age = static_cast<int>(value.get<long long>());
    } else if (key == "deny_list") {
      if (!value.is_array() || value.size() > kMaxDenyList) {
        return fail("policy: deny_list must be a list of at most " + std::to_string(kMaxDenyList) + " id numbers");
      }
      for (const auto& id : value) {
        if (!id.is_string() || id.get<std::string>().empty() || id.get<std::string>().size() > 64) {
          return fail("policy: deny_list entries must be id numbers (1 to 64 characters)");
        }
        p.deny_list.push_back(normalise_id_number(id.get<std::string>()));
      }
      std::sort(p.deny_list.begin(), p.deny_list.end());
    } else if (key == "external_command") {
      if (!value.is_object()) return fail("policy: external_command must be {\"argv\": [...], \"timeout_seconds\": N}");
      ExternalCommand c;
      for (const auto& [k, v] : value.items()) {
        if (k == "argv") {
          if (!v.is_array() || v.empty() || v.size() > 64) return fail("policy: external_command.argv must be a non-empty list");
          for (const auto& a : v) {
            if (!a.is_string()) return fail("policy: external_command.argv must hold strings");
            c.argv.push_back(a.get<std::string>());
          }
          if (c.argv[0].empty() || c.argv[0][0] != '/') {
            return fail("policy: external_command.argv[0] must be an absolute path (no shell, no PATH search)");
          }
        } else if (k == "timeout_seconds") {
          if (!v.is_number_integer() || v.get<long long>() < 1 || v.get<long long>() > kMaxTimeoutSeconds) {
            return fail("policy: external_command.timeout_seconds must be 1 to " + std::to_string(kMaxTimeoutSeconds));
          }
          c.timeout = std::chrono::seconds(v.get<long long>());
        } else {
          return fail("policy: external_command: unknown key \"" + k.substr(0, 32) + "\"");
        }
      }
      if (c.argv.empty()) return fail("policy: external_command needs argv");
      p.external = std::move(c);
    } else {
      return fail("policy: unknown key \"" + key.substr(0, 32) +
                  "\" (known: required_fields, min_age, deny_list, external_command)");
    }
  }
  return p;
}

Result<PolicyConfig> load_policy_file(const std::string& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return fail("cannot read policy file " + path + ": " + ec.message());
  if (size > kMaxPolicyFile) return fail("policy file " + path + " is too large");
  std::ifstream in(path, std::ios::binary);
  std::string text(size, '\0');
  in.read(text.data(), static_cast<std::streamsize>(size));
  if (!in) return fail("cannot read policy file " + path);
  auto policy = parse_policy(text);
  if (!policy) return fail(path + ": " + policy.error().message);
  return policy;
}

Decision apply_builtin_rules(const PolicyConfig& policy, const CustomerDetails& details, const Date& today) {
  Decision d;
  for (const auto& field : policy.required_fields) {
    if (field_value(details, field).empty()) d.reasons.push_back(field + " is missing");
  }
  if (policy.min_age) {
    if (details.date_of_birth.empty()) {
      if (std::find(policy.required_fields.begin(), policy.required_fields.end(), "date_of_birth") ==
          policy.required_fields.end()) {
        d.reasons.push_back("date_of_birth is missing (needed for the age check)");
      }
    } else if (auto born = parse_date(details.date_of_birth); !born) {
      d.reasons.push_back("date_of_birth: " + born.error().message);
    } else if (age_on(*born, today) < *policy.min_age) {
      d.reasons.push_back("customer is under " + std::to_string(*policy.min_age));
    }
  }
  if (!policy.deny_list.empty() && !details.id_number.empty() &&
      std::binary_search(policy.deny_list.begin(), policy.deny_list.end(), normalise_id_number(details.id_number))) {
    d.reasons.push_back("id number is on the deny list");
  }
  d.go = d.reasons.empty();
  return d;
}

Decision assess(const PolicyConfig& policy, const CustomerDetails& details, const Date& today) {
  Decision d = apply_builtin_rules(policy, details, today);
  if (!d.go || !policy.external) return d;
  auto verdict = run_external_assessment(*policy.external, to_json(details));
  if (!verdict) {
    d.go = false;
    d.reasons.push_back("external assessment unavailable: " + verdict.error().message);
    return d;
  }
  d.go = verdict->go;
  if (!verdict->reason.empty()) d.reasons.push_back(verdict->reason);
  return d;
}

}  // namespace cardperso::ads::policy
