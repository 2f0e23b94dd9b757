#include "cardperso/net/endpoint.hpp"

#include <charconv>

namespace cardperso::net {

std::string Endpoint::to_string() const {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

Result<Endpoint> parse_endpoint(std::string_view text) {
  const std::string quoted = "'" + std::string(text) + "'";
  if (text.empty()) return fail("empty address; expected host:port, e.g. 127.0.0.1:7000 or [::1]:7000");
  std::string_view host;
  std::string_view port_text;
  if (text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos)
      return fail("address " + quoted + " has '[' without ']'; write IPv6 addresses as [::1]:7000");
    host = text.substr(1, close - 1);
    const auto rest = text.substr(close + 1);
    if (rest.empty() || rest.front() != ':')
      return fail("address " + quoted + " has no port after ']'; expected [host]:port");
    port_text = rest.substr(1);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos)
      return fail("address " + quoted + " has no port; expected host:port, e.g. 127.0.0.1:7000");
    host = text.substr(0, colon);
    if (host.find(':') != std::string_view::npos)
      return fail("address " + quoted + " looks like a bare IPv6 address; put it in brackets: [::1]:7000");
    port_text = text.substr(colon + 1);
  }
  if (host.empty()) return fail("address " + quoted + " has an empty host");
  if (host.find_first_of("[] \t") != std::string_view::npos)
    return fail("address " + quoted + " has a stray bracket or blank in the host");
  if (port_text.empty()) return fail("address " + quoted + " has an empty port");
  unsigned value = 0;
  const auto* first = port_text.data();
  const auto* last = first + port_text.size();
  const auto [end, ec] = std::from_chars(first, last, value);
  if (ec != std::errc{} || end != last)
    return fail("address " + quoted + ": port '" + std::string(port_text) + "' is not a number");
  if (value > 65535) return fail("address " + quoted + ": port " + std::to_string(value) + " is above 65535");
  return Endpoint{std::string(host), static_cast<std::uint16_t>(value)};
}

}  // namespace cardperso::net
