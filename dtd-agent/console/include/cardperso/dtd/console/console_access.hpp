#pragma once
// Who may use the retailer's web console, sans-I/O. The agent makes a random token at start and prints
// the console's address with it (`console on http://HOST:PORT/?token=TOKEN`); the browser that opens
// that address gets the token as a cookie (HttpOnly, SameSite=Strict) and every later request must
// carry it. Besides: the Host header must name the listen address exactly (a DNS-rebinding page has
// another Host) and a WebSocket's Origin must be the console's own (another site's page cannot open
// it with the retailer's cookie).
#include <string>
#include <string_view>

namespace cardperso::dtd::console {

inline constexpr std::string_view kCookieName = "cardperso_console";

// 128 random bits (RAND_bytes) as 32 lower-case hex digits.
std::string make_token();
// Constant-time in the contents (CRYPTO_memcmp); different lengths are unequal.
bool tokens_equal(std::string_view a, std::string_view b);

struct AccessConfig {
  std::string token;
  std::string host_port;  // the listen address as the browser writes it: "127.0.0.1:7702", "[::1]:7702"
};

struct AccessRequest {
  std::string_view path{};         // the target's path ("/")
  std::string_view query_token{};  // the token=... parameter of the query ("" when absent)
  bool has_query_token = false;
  std::string_view host{};    // the Host header
  std::string_view cookie{};  // the Cookie header(s), joined with "; "
  std::string_view origin{};  // the Origin header
  bool websocket = false;   // a WebSocket upgrade
};

enum class Access {
  Allow,      // serve it
  SetCookie,  // the right token in the address: set the cookie and send the browser to "/"
  Forbidden,  // 403
};

Access check_access(const AccessConfig& config, const AccessRequest& request);

// The value of cookie `name` in a Cookie header ("" when absent).
std::string_view cookie_value(std::string_view cookie_header, std::string_view name);

}  // namespace cardperso::dtd::console
