#pragma once
// The console's HTTP side, sans-I/O: (method, target, headers) -> the response, for the page's
// embedded files, the printable receipt page and the WebSocket endpoint (whose upgrade the server
// performs). Every response carries the security headers (a strict CSP, nosniff, no referrer, no
// caching). Only GET and HEAD; no request bodies.
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cardperso/dtd/console/console_access.hpp"

namespace cardperso::dtd::console {

inline constexpr std::string_view kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
inline constexpr std::string_view kForbiddenText = "open the address dtd-agent printed, with its token\n";

struct HttpRequest {
  std::string_view method{};
  std::string_view target{};
  std::string_view host{};
  std::string_view cookie{};
  std::string_view origin{};
  bool websocket_upgrade = false;
};

struct HttpResponse {
  unsigned status = 200;
  std::vector<std::pair<std::string, std::string>> headers;  // the security headers included
  std::string body;                                          // empty for HEAD (Content-Length still set)
  bool upgrade = false;  // accept the WebSocket (headers: added to the 101 response)

  const std::string* header(std::string_view name) const;
};

// The receipt (the ADS's JSON) of a receipt id, if this agent has it.
using ReceiptLookup = std::function<std::optional<std::string>(std::string_view receipt_id)>;

HttpResponse route(const AccessConfig& access, const HttpRequest& request, const ReceiptLookup& receipts);

// The security headers every response carries.
std::vector<std::pair<std::string, std::string>> security_headers();

}  // namespace cardperso::dtd::console
