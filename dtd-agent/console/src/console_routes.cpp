#include "cardperso/dtd/console/console_routes.hpp"

#include <algorithm>
#include <cctype>

#include "cardperso/dtd/console/console_files.hpp"
#include "cardperso/dtd/receipt_printer.hpp"

namespace cardperso::dtd::console {

namespace {

constexpr std::string_view kHtml = "text/html; charset=utf-8";
constexpr std::string_view kText = "text/plain; charset=utf-8";

struct Target {
  std::string_view path;
  std::string_view query;
};

Target split(std::string_view target) {
  const auto q = target.find('?');
  if (q == std::string_view::npos) return {target, {}};
  return {target.substr(0, q), target.substr(q + 1)};
}

// The value of parameter `name` in a query (no percent-decoding: tokens and receipt ids need none).
std::optional<std::string_view> query_param(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) == name) return eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
  }
  return std::nullopt;
}

HttpResponse respond(unsigned status, std::string_view type, std::string body) {
  HttpResponse r;
  r.status = status;
  r.headers = security_headers();
  r.headers.emplace_back("Content-Type", std::string(type));
  r.body = std::move(body);
  return r;
}

std::string html_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

bool receipt_id_ok(std::string_view id) {
  return !id.empty() && id.size() <= 40 &&
         std::all_of(id.begin(), id.end(), [](char c) { return (c >= '0' && c <= '9') || c == '-'; });
}

HttpResponse receipt_page(std::string_view query, const ReceiptLookup& receipts) {
  const auto id = query_param(query, "id");
  if (!id || !receipt_id_ok(*id)) return respond(404, kText, "no such receipt\n");
  std::optional<std::string> json;
  if (receipts) json = receipts(*id);
  if (!json) return respond(404, kText, "no such receipt\n");
  auto text = render_receipt(*json);
  if (!text) return respond(404, kText, "no such receipt\n");
  return respond(200, kHtml,
                 "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Receipt " +
                     html_escape(*id) +
                     "</title><link rel=\"stylesheet\" href=\"/console.css\"></head>\n"
                     "<body class=\"receipt-page\"><main><pre class=\"receipt\">" +
                     html_escape(*text) + "</pre></main></body></html>\n");
}

HttpResponse file(std::string_view name, std::string_view type) {
  const auto bytes = embedded_file(name);
  if (!bytes) return respond(404, kText, "not found\n");
  return respond(200, type, std::string(*bytes));
}

}  // namespace

const std::string* HttpResponse::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key.size() == name.size() && std::equal(key.begin(), key.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
        }))
      return &value;
  }
  return nullptr;
}

std::vector<std::pair<std::string, std::string>> security_headers() {
  return {{"Content-Security-Policy", std::string(kContentSecurityPolicy)},
          {"X-Content-Type-Options", "nosniff"},
          {"Referrer-Policy", "no-referrer"},
          {"Cache-Control", "no-store"}};
}

HttpResponse route(const AccessConfig& access, const HttpRequest& request, const ReceiptLookup& receipts) {
  const Target target = split(request.target);
  const bool head = request.method == "HEAD";
  if (request.method != "GET" && !head) {
    auto r = respond(405, kText, "only GET\n");
    r.headers.emplace_back("Allow", "GET, HEAD");
    return r;
  }
  const auto token = query_param(target.query, "token");
  const Access allowed = check_access(access, {.path = target.path,
                                               .query_token = token.value_or(std::string_view()),
                                               .has_query_token = token.has_value(),
                                               .host = request.host,
                                               .cookie = request.cookie,
                                               .origin = request.origin,
                                               .websocket = request.websocket_upgrade});
  HttpResponse r;
  if (allowed == Access::Forbidden) {
    r = respond(403, kText, std::string(kForbiddenText));
  } else if (allowed == Access::SetCookie) {
    r = respond(303, kText, "");
    r.headers.emplace_back("Location", "/");
    r.headers.emplace_back("Set-Cookie",
                           std::string(kCookieName) + "=" + access.token + "; HttpOnly; SameSite=Strict; Path=/");
  } else if (target.path == "/" || target.path == "/index.html") {
    r = file("index.html", kHtml);
  } else if (target.path == "/console.css") {
    r = file("console.css", "text/css; charset=utf-8");
  } else if (target.path == "/console.js") {
    r = file("console.js", "text/javascript; charset=utf-8");
  } else if (target.path == "/receipt") {
    r = receipt_page(target.query, receipts);
  } else if (target.path == "/ws") {
    if (request.websocket_upgrade && !head) {
      r.status = 101;
      r.headers = security_headers();
      r.upgrade = true;
    } else {
      r = respond(426, kText, "the console's live state is a WebSocket\n");
    }
  } else {
    r = respond(404, kText, "not found\n");
  }
  if (head) r.body.clear();
  return r;
}

}  // namespace cardperso::dtd::console
