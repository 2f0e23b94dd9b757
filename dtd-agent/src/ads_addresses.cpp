#include "cardperso/dtd/ads_addresses.hpp"

#include <algorithm>
#include <string_view>

namespace cardperso::dtd {

namespace {

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t") - first + 1);
}

}  // namespace

Result<std::vector<net::Endpoint>> parse_ads_addresses(const std::vector<std::string>& values) {
  std::vector<std::string_view> entries;
  for (const auto& value : values) {
    std::string_view rest = value;
    for (;;) {
      const auto comma = rest.find(',');
      entries.push_back(trim(rest.substr(0, comma)));
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  if (entries.empty()) return fail("the option '--ads' is required but missing");
  const bool several = entries.size() > 1;
  std::vector<net::Endpoint> out;
  for (const auto& entry : entries) {
    // One address keeps the messages it always had; in a list the entry is named.
    if (entry.empty() && several) return fail("--ads: an empty entry in the list (two commas, or one at an end)");
    auto endpoint = net::parse_endpoint(entry);
    if (!endpoint) return fail("--ads: " + endpoint.error().message);
    if (endpoint->port == 0)
      return fail(several ? "--ads needs a port other than 0 ('" + std::string(entry) + "')"
                          : std::string("--ads needs a port other than 0"));
    if (std::find(out.begin(), out.end(), *endpoint) != out.end())
      return fail("--ads: " + endpoint->to_string() + " is given twice");
    out.push_back(std::move(*endpoint));
  }
  return out;
}

}  // namespace cardperso::dtd
