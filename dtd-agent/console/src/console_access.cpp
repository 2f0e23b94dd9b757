#include "cardperso/dtd/console/console_access.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <array>
#include <stdexcept>

namespace cardperso::dtd::console {

std::string make_token() {
  std::array<unsigned char, 16> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1)
    throw std::runtime_error("RAND_bytes failed: no randomness for the console token");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0x0F]);
  }
  OPENSSL_cleanse(bytes.data(), bytes.size());
  return out;
}

bool tokens_equal(std::string_view a, std::string_view b) {
  // The length of a token is no secret (always 32); its contents are compared in constant time.
  return !a.empty() && a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string_view cookie_value(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    const auto end = header.find(';');
    std::string_view pair = header.substr(0, end);
    header = end == std::string_view::npos ? std::string_view() : header.substr(end + 1);
    while (!pair.empty() && (pair.front() == ' ' || pair.front() == '\t')) pair.remove_prefix(1);
    while (!pair.empty() && (pair.back() == ' ' || pair.back() == '\t')) pair.remove_suffix(1);
    const auto eq = pair.find('=');
    if (eq == std::string_view::npos || pair.substr(0, eq) != name) continue;
    std::string_view value = pair.substr(eq + 1);
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
    return value;
  }
  return {};
}

Access check_access(const AccessConfig& config, const AccessRequest& request) {
  if (request.host != config.host_port) return Access::Forbidden;
  if (request.has_query_token) {
    if (request.path == "/" && !request.websocket && tokens_equal(request.query_token, config.token))
      return Access::SetCookie;
    return Access::Forbidden;
  }
  if (!tokens_equal(cookie_value(request.cookie, kCookieName), config.token)) return Access::Forbidden;
  if (request.websocket && request.origin != "http://" + config.host_port) return Access::Forbidden;
  return Access::Allow;
}

}  // namespace cardperso::dtd::console
