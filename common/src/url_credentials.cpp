#include "cardperso/common/url_credentials.hpp"

namespace cardperso {

std::string redact_url_credentials(std::string_view url) {
  std::string shown(url);
  const auto scheme = shown.find("://");
  if (scheme == std::string::npos) return shown;
  // scheme://user:password@host... : the password is between the first ':' and the last '@' of the authority.
  const auto authority = scheme + 3;
  const auto authority_end = shown.find_first_of("/?", authority);
  const auto at = shown.rfind('@', authority_end == std::string::npos ? std::string::npos : authority_end);
  if (at != std::string::npos && at > authority) {
    const auto colon = shown.find(':', authority);
    if (colon != std::string::npos && colon < at) shown = shown.substr(0, colon + 1) + "***" + shown.substr(at);
  }
  // ...?password=... (libpq also takes it as a parameter).
  for (std::size_t p = shown.find("password="); p != std::string::npos; p = shown.find("password=", p + 12)) {
    if (p > 0 && shown[p - 1] != '?' && shown[p - 1] != '&') continue;
    const auto end = shown.find('&', p);
    shown = shown.substr(0, p) + "password=***" + (end == std::string::npos ? "" : shown.substr(end));
  }
  return shown;
}

}  // namespace cardperso
