// dtd-agent --console-listen: the retailer's web console as a browser meets it, with the real agent
// as a process and a Boost.Beast client. The ADS address is a port nothing listens on: the console
// must work (and say the issuer is unreachable) while the ADS is down.
#include <gtest/gtest.h>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

#include "cardperso/common/secret_bytes.hpp"
#include "cardperso/net/asio.hpp"
#include "cardperso/proto/pairing.hpp"
#include "cardperso/testing/child_process.hpp"

namespace {

using namespace cardperso;
using namespace std::chrono_literals;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using json = nlohmann::json;
using net::tcp;

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

class ConsoleServer : public ::testing::Test {
 protected:
  void SetUp() override {
    dtd_ = env("CARDPERSO_DTD_AGENT");
    ASSERT_FALSE(dtd_.empty()) << "CARDPERSO_DTD_AGENT is not set";
    dir_ = std::filesystem::temp_directory_path() /
           ("console-e2e-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    const std::string pairing = (dir_ / "pairing.key").string();
    SecretBytes key(proto::kPairingKeySize);
    for (std::size_t i = 0; i < key.size(); ++i) key.data()[i] = static_cast<std::uint8_t>(i * 7 + 1);
    ASSERT_TRUE(proto::create_pairing_file(pairing, key));
    log_ = (dir_ / "dtd.log").string();
    agent_ = std::make_unique<cardperso::testing::ChildProcess>(
        "dtd-agent",
        std::vector<std::string>{dtd_, "--ads", "127.0.0.1:9", "--ste-listen", "127.0.0.1:0", "--pairing-file", pairing,
                                 "--console-listen", "127.0.0.1:0", "--log-file", log_, "--reconnect-max-ms", "200"},
        (dir_ / "dtd.err").string());
    const auto line = agent_->wait_for_line(
        std::regex(R"(^console on http://(127\.0\.0\.1):(\d+)/\?token=([0-9a-f]{32})$)"), cardperso::testing::Millis(10000));
    ASSERT_TRUE(line) << agent_->stdout_text() << agent_->stderr_text();
    host_ = (*line)[1];
    port_ = static_cast<std::uint16_t>(std::stoi((*line)[2]));
    token_ = (*line)[3];
    ASSERT_NE(port_, 0);
  }
  void TearDown() override {
    if (agent_) {
      EXPECT_EQ(agent_->terminate(cardperso::testing::Millis(10000)), 0);
    }
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  std::string host_port() const { return host_ + ":" + std::to_string(port_); }

  http::response<http::string_body> get(const std::string& target, const std::string& cookie = {},
                                        std::optional<std::string> host = std::nullopt) {
    net::asio::io_context io;
    tcp::socket socket(io);
    socket.connect({net::asio::ip::make_address(host_), port_});
    http::request<http::empty_body> req{http::verb::get, target, 11};
    req.set(http::field::host, host.value_or(host_port()));
    if (!cookie.empty()) req.set(http::field::cookie, cookie);
    http::write(socket, req);
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(socket, buffer, res);
    return res;
  }

  std::string log_text() const {
    std::ifstream f(log_);
    return std::string(std::istreambuf_iterator<char>(f), {});
  }

  std::string cookie() const { return "cardperso_console=" + token_; }

  // Opens /ws with the cookie and `origin`; the handshake's response in `res`.
  std::unique_ptr<websocket::stream<tcp::socket>> open_ws(net::asio::io_context& io, const std::string& origin,
                                                          websocket::response_type& res, beast::error_code& ec) {
    auto ws = std::make_unique<websocket::stream<tcp::socket>>(io);
    ws->next_layer().connect({net::asio::ip::make_address(host_), port_});
    ws->set_option(websocket::stream_base::decorator([this, origin](websocket::request_type& req) {
      req.set(http::field::cookie, cookie());
      req.set(http::field::origin, origin);
    }));
    ws->handshake(res, host_port(), "/ws", ec);
    return ws;
  }

  static json read_json(websocket::stream<tcp::socket>& ws) {
    beast::flat_buffer buffer;
    ws.read(buffer);
    return json::parse(beast::buffers_to_string(buffer.data()));
  }

  std::string dtd_;
  std::filesystem::path dir_;
  std::string log_;
  std::unique_ptr<cardperso::testing::ChildProcess> agent_;
  std::string host_;
  std::uint16_t port_ = 0;
  std::string token_;
};

const char* const kCsp =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'";

TEST_F(ConsoleServer, ThePageNeedsTheTokenThenTheCookie) {
  const auto bare = get("/");
  EXPECT_EQ(bare.result_int(), 403);
  EXPECT_EQ(bare.body().find("<html"), std::string::npos);
  EXPECT_EQ(bare["Content-Security-Policy"], kCsp);

  EXPECT_EQ(get("/?token=wrong").result_int(), 403);
  EXPECT_EQ(get("/?token=" + std::string(32, '0')).result_int(), 403);

  const auto in = get("/?token=" + token_);
  EXPECT_EQ(in.result_int(), 303);
  EXPECT_EQ(in[http::field::location], "/");
  EXPECT_EQ(in[http::field::set_cookie], "cardperso_console=" + token_ + "; HttpOnly; SameSite=Strict; Path=/");

  const auto page = get("/", cookie());
  EXPECT_EQ(page.result_int(), 200);
  EXPECT_EQ(page[http::field::content_type], "text/html; charset=utf-8");
  EXPECT_EQ(page["Content-Security-Policy"], kCsp);
  EXPECT_EQ(page["X-Content-Type-Options"], "nosniff");
  EXPECT_EQ(page[http::field::cache_control], "no-store");
  EXPECT_NE(page.body().find("<html"), std::string::npos);
  EXPECT_NE(page.body().find("console.js"), std::string::npos);

  // DNS rebinding: the cookie under another name for the same address is refused.
  EXPECT_EQ(get("/", cookie(), "evil.example:" + std::to_string(port_)).result_int(), 403);

  // The token is on standard output only; the log names the address without it.
  const std::string log = log_text();
  EXPECT_NE(log.find("console on http://" + host_port() + "/ (its token is on standard output)"), std::string::npos)
      << log;
  EXPECT_EQ(log.find(token_), std::string::npos);
}

TEST_F(ConsoleServer, TheWebSocketChecksTheOriginAndServesTheStateWhileTheAdsIsDown) {
  net::asio::io_context io;
  {
    websocket::response_type res;
    beast::error_code ec;
    auto evil = open_ws(io, "http://evil.example", res, ec);
    EXPECT_TRUE(ec);  // the upgrade is declined
  }
  {
    // The same upgrade by hand, to see the answer: 403, no switch of protocols.
    tcp::socket socket(io);
    socket.connect({net::asio::ip::make_address(host_), port_});
    http::request<http::empty_body> req{http::verb::get, "/ws", 11};
    req.set(http::field::host, host_port());
    req.set(http::field::cookie, cookie());
    req.set(http::field::origin, "http://evil.example");
    req.set(http::field::connection, "Upgrade");
    req.set(http::field::upgrade, "websocket");
    req.set(http::field::sec_websocket_version, "13");
    req.set(http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
    http::write(socket, req);
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(socket, buffer, res);
    EXPECT_EQ(res.result_int(), 403);
    EXPECT_EQ(res["Content-Security-Policy"], kCsp);
  }
  websocket::response_type res;
  beast::error_code ec;
  auto ws = open_ws(io, "http://" + host_port(), res, ec);
  ASSERT_FALSE(ec) << ec.message() << " " << res.result_int();
  EXPECT_EQ(res["Content-Security-Policy"], kCsp);
  const json state = read_json(*ws);
  EXPECT_EQ(state["type"], "state");
  EXPECT_EQ(state["links"]["ads"], "down");
  EXPECT_EQ(state["links"]["terminal"], "down");
  EXPECT_EQ(state["rules"]["min_age"], 18);
  EXPECT_EQ(state["notice"]["level"], "warning");

  ws->text(true);
  ws->write(net::asio::buffer(std::string("not json")));
  EXPECT_EQ(read_json(*ws), json({{"type", "form_errors"}, {"form", ""}, {"errors", {{"_form", "unknown message"}}}}));

  const json bad = {{"type", "submit_new"},
                    {"customer",
                     {{"name", "Ada Lovelace"}, {"date_of_birth", "10/12/1985"}, {"address", "1 Main St"},
                      {"id_document", "passport"}, {"id_number", "X1"}}}};
  ws->write(net::asio::buffer(bad.dump()));
  const json reply = read_json(*ws);
  EXPECT_EQ(reply["type"], "form_errors");
  EXPECT_EQ(reply["form"], "new");
  EXPECT_TRUE(reply["errors"].contains("date_of_birth")) << reply;

  // A good one is queued (the ADS is down: it waits) and every page hears of it.
  json good = bad;
  good["customer"]["date_of_birth"] = "1985-12-10";
  ws->write(net::asio::buffer(good.dump()));
  bool accepted = false;
  json seen;
  for (int i = 0; i < 4 && !(accepted && seen.is_object()); ++i) {
    const json m = read_json(*ws);
    if (m["type"] == "accepted") accepted = true;
    if (m["type"] == "state" && m["request"].is_object()) seen = m;
  }
  EXPECT_TRUE(accepted);
  ASSERT_TRUE(seen.is_object());
  EXPECT_EQ(seen["request"]["status"], "queued");
  EXPECT_EQ(seen["request"]["label"], "Ada Lovelace");
  ws->close(websocket::close_code::normal);
}

}  // namespace
