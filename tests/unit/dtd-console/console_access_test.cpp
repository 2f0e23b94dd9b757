#include <gtest/gtest.h>

#include <regex>

#include "cardperso/dtd/console/console_access.hpp"
#include "cardperso/dtd/console/console_files.hpp"
#include "cardperso/dtd/console/console_routes.hpp"

using namespace cardperso::dtd::console;

namespace {

const AccessConfig kAccess{"00112233445566778899aabbccddeeff", "127.0.0.1:7702"};
const std::string kCookie = "cardperso_console=00112233445566778899aabbccddeeff";

HttpResponse get(std::string_view target, std::string_view cookie = {}, std::string_view host = "127.0.0.1:7702",
                 std::string_view method = "GET") {
  return route(kAccess, {.method = method, .target = target, .host = host, .cookie = cookie}, {});
}

HttpResponse ws(std::string_view origin, std::string_view cookie = kCookie) {
  return route(kAccess,
               {.method = "GET", .target = "/ws", .host = "127.0.0.1:7702", .cookie = cookie, .origin = origin,
                .websocket_upgrade = true},
               {});
}

void expect_security_headers(const HttpResponse& r) {
  ASSERT_NE(r.header("Content-Security-Policy"), nullptr) << r.status;
  EXPECT_EQ(*r.header("Content-Security-Policy"),
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
            "base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
  ASSERT_NE(r.header("X-Content-Type-Options"), nullptr);
  EXPECT_EQ(*r.header("X-Content-Type-Options"), "nosniff");
  ASSERT_NE(r.header("Referrer-Policy"), nullptr);
  EXPECT_EQ(*r.header("Referrer-Policy"), "no-referrer");
  ASSERT_NE(r.header("Cache-Control"), nullptr);
  EXPECT_EQ(*r.header("Cache-Control"), "no-store");
}

}  // namespace

TEST(ConsoleAccess, WithoutTheTokenOrWithAWrongOneNothingIsServed) {
  for (const char* target : {"/", "/console.js", "/console.css", "/receipt?id=1-1", "/?token=", "/?token=wrong",
                             "/?token=00112233445566778899aabbccddeefe", "/console.js?token=00112233445566778899aabbccddeeff"}) {
    const auto r = get(target);
    EXPECT_EQ(r.status, 403u) << target;
    EXPECT_EQ(r.body, std::string(kForbiddenText)) << target;
    EXPECT_EQ(r.header("Set-Cookie"), nullptr) << target;
  }
  // A wrong cookie, or the right value under another name.
  EXPECT_EQ(get("/", "cardperso_console=00112233445566778899aabbccddeefe").status, 403u);
  EXPECT_EQ(get("/", "other=00112233445566778899aabbccddeeff").status, 403u);
}

TEST(ConsoleAccess, TheRightTokenSetsTheCookieAndSendsTheBrowserHome) {
  const auto r = get("/?token=00112233445566778899aabbccddeeff");
  EXPECT_EQ(r.status, 303u);
  ASSERT_NE(r.header("Location"), nullptr);
  EXPECT_EQ(*r.header("Location"), "/");
  ASSERT_NE(r.header("Set-Cookie"), nullptr);
  EXPECT_EQ(*r.header("Set-Cookie"),
            "cardperso_console=00112233445566778899aabbccddeeff; HttpOnly; SameSite=Strict; Path=/");
  EXPECT_TRUE(r.body.empty());
}

TEST(ConsoleAccess, TheCookieOpensThePageAndItsFiles) {
  const auto page = get("/", "theme=dark; " + kCookie);
  EXPECT_EQ(page.status, 200u);
  ASSERT_NE(page.header("Content-Type"), nullptr);
  EXPECT_EQ(*page.header("Content-Type"), "text/html; charset=utf-8");
  ASSERT_TRUE(embedded_file("index.html"));
  EXPECT_EQ(page.body, std::string(*embedded_file("index.html")));
  EXPECT_FALSE(page.body.empty());
  const auto js = get("/console.js", kCookie);
  EXPECT_EQ(js.status, 200u);
  EXPECT_EQ(*js.header("Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(js.body, std::string(*embedded_file("console.js")));
  const auto css = get("/console.css", kCookie);
  EXPECT_EQ(css.status, 200u);
  EXPECT_EQ(*css.header("Content-Type"), "text/css; charset=utf-8");
  EXPECT_EQ(css.body, std::string(*embedded_file("console.css")));
}

TEST(ConsoleAccess, AnotherHostHeaderIsForbiddenEvenWithTheCookie) {
  for (const char* host : {"evil.example:7702", "localhost:7702", "127.0.0.1:7703", "127.0.0.1", ""}) {
    EXPECT_EQ(get("/", kCookie, host).status, 403u) << host;
    EXPECT_EQ(get("/?token=00112233445566778899aabbccddeeff", {}, host).status, 403u) << host;
  }
}

TEST(ConsoleAccess, TheWebSocketNeedsTheCookieAndTheConsolesOwnOrigin) {
  EXPECT_EQ(ws("http://evil.example").status, 403u);
  EXPECT_EQ(ws("").status, 403u);
  EXPECT_EQ(ws("https://127.0.0.1:7702").status, 403u);
  EXPECT_EQ(ws("null").status, 403u);
  EXPECT_EQ(ws("http://127.0.0.1:7702", "").status, 403u);
  const auto ok = ws("http://127.0.0.1:7702");
  EXPECT_EQ(ok.status, 101u);
  EXPECT_TRUE(ok.upgrade);
  // /ws without an upgrade is no WebSocket.
  const auto plain = get("/ws", kCookie);
  EXPECT_FALSE(plain.upgrade);
  EXPECT_EQ(plain.status, 426u);
}

TEST(ConsoleAccess, OnlyGetAndHeadAndUnknownPathsAreNotFound) {
  for (const char* method : {"POST", "PUT", "DELETE", "OPTIONS", "PATCH"}) {
    const auto r = get("/", kCookie, "127.0.0.1:7702", method);
    EXPECT_EQ(r.status, 405u) << method;
    ASSERT_NE(r.header("Allow"), nullptr);
    EXPECT_EQ(*r.header("Allow"), "GET, HEAD");
  }
  const auto head = get("/", kCookie, "127.0.0.1:7702", "HEAD");
  EXPECT_EQ(head.status, 200u);
  EXPECT_TRUE(head.body.empty());
  EXPECT_EQ(get("/admin", kCookie).status, 404u);
  EXPECT_EQ(get("/../etc/passwd", kCookie).status, 404u);
  EXPECT_EQ(get("/receipt?id=8988211000000000011-1", kCookie).status, 404u);  // none received
}

TEST(ConsoleAccess, EveryResponseCarriesTheSecurityHeaders) {
  const HttpResponse responses[] = {get("/"),
                                    get("/?token=00112233445566778899aabbccddeeff"),
                                    get("/", kCookie),
                                    get("/console.js", kCookie),
                                    get("/nope", kCookie),
                                    get("/", kCookie, "127.0.0.1:7702", "POST"),
                                    get("/", kCookie, "evil.example"),
                                    ws("http://evil.example"),
                                    ws("http://127.0.0.1:7702")};
  for (const auto& r : responses) expect_security_headers(r);
}

TEST(ConsoleAccess, TheReceiptPageShowsTheReceiptEscapedAndNoSecret) {
  const ReceiptLookup receipts = [](std::string_view id) -> std::optional<std::string> {
    if (id != "8988211000000000011-1") return std::nullopt;
    return R"({"receipt_id":"8988211000000000011-1","iccid":"8988211000000000011","msisdn":"41790000001",)"
           R"("customer_name":"<script>alert(1)</script>","pin":"1234"})";
  };
  const auto r = route(kAccess, {.method = "GET", .target = "/receipt?id=8988211000000000011-1",
                                 .host = "127.0.0.1:7702", .cookie = kCookie}, receipts);
  EXPECT_EQ(r.status, 200u);
  EXPECT_NE(r.body.find("Msisdn: 41790000001"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("&lt;script&gt;"), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("<script>"), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("1234"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("href=\"/console.css\""), std::string::npos);
  expect_security_headers(r);
  const auto other = route(kAccess, {.method = "GET", .target = "/receipt?id=1-2", .host = "127.0.0.1:7702",
                                     .cookie = kCookie}, receipts);
  EXPECT_EQ(other.status, 404u);
  const auto odd = route(kAccess, {.method = "GET", .target = "/receipt?id=../x", .host = "127.0.0.1:7702",
                                   .cookie = kCookie}, receipts);
  EXPECT_EQ(odd.status, 404u);
}

TEST(ConsoleAccess, TokensAreFreshHexAndCompareExactly) {
  const std::string a = make_token(), b = make_token();
  EXPECT_TRUE(std::regex_match(a, std::regex("[0-9a-f]{32}"))) << a;
  EXPECT_NE(a, b);
  EXPECT_TRUE(tokens_equal(a, a));
  EXPECT_FALSE(tokens_equal(a, b));
  EXPECT_FALSE(tokens_equal(a, a.substr(0, 31)));
  EXPECT_FALSE(tokens_equal("", ""));
  EXPECT_EQ(cookie_value("a=1; cardperso_console=xyz; b=2", kCookieName), "xyz");
  EXPECT_EQ(cookie_value("a=1", kCookieName), "");
}
